// rateLimit (README "Rate limit"): at most `tasks` task starts in any `per` ms, across all workers.
import { readFileSync } from "node:fs";
import t from "tap";
import { collect, createLb, exactlyOnce, fixture, tmpPath, within } from "./helpers.js";

const starts = (log) => readFileSync(log, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line).t).sort((a, b) => a - b);

t.test("rateLimit - no window of `per` ms holds more than `tasks` starts, across workers", async (t) => {
  const log = tmpPath(t);
  const tasks = 3;
  const per = 400;
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 2, concurrency: 2, rateLimit: { tasks, per } });
  await lb.ready;
  const keys = Array.from({ length: 12 }, (_, i) => i);
  const results = await within(collect(lb.map(keys.map((key) => ({ key, log })))), 60_000, "the map");
  exactlyOnce(t, results.map((r) => r.key), keys);
  const s = starts(log);
  // The broker counts a task's start when it dispatches it to a free slot; the handler starts a
  // message's travel later, and that travel time varies a little between tasks (more on a loaded
  // machine). So the handlers' log is allowed 100 ms of it: a limit of 3 per 400 ms that the
  // broker did not keep would show 4 starts within a few ms.
  let closest = Infinity;
  for (let i = 0; i + tasks < s.length; i++) closest = Math.min(closest, s[i + tasks] - s[i]);
  t.ok(closest >= per - 100, `any ${tasks + 1} starts in a row span at least ${per - 100} ms (closest: ${closest} ms)`);
  t.ok(s.at(-1) - s[0] >= 3 * per - 100, `12 starts at 3 per ${per} ms take 3 windows (${s.at(-1) - s[0]} ms)`);
});

t.test("rateLimit - with retries: retried runs count as starts too, and every task finishes", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 2, rateLimit: { tasks: 2, per: 200 } });
  const keys = Array.from({ length: 6 }, (_, i) => i);
  const results = await within(collect(lb.map(keys.map((key) => ({ op: "flaky", key, fails: 1, log })), { retries: 1, retryDelay: 10 })), 60_000, "the map");
  t.same(results, keys.map((key) => ({ key, attempt: 2 })), "each succeeds on its second run");
  const s = starts(log);
  t.equal(s.length, 12, "12 starts: 6 first runs, 6 retries");
  let closest = Infinity;
  for (let i = 0; i + 2 < s.length; i++) closest = Math.min(closest, s[i + 2] - s[i]);
  t.ok(closest >= 100, `any 3 starts span at least 100 ms (closest: ${closest} ms; see above for the margin)`);
});

t.test("rateLimit - options are checked", async (t) => {
  const worker = fixture("controls.js");
  const cases = [
    [{ rateLimit: 10 }, /options\.rateLimit must be \{ tasks, per \}/],
    [{ rateLimit: { tasks: 0, per: 1000 } }, /options\.rateLimit\.tasks must be a whole number from 1/],
    [{ rateLimit: { tasks: 5 } }, /options\.rateLimit\.per must be a whole number of ms/],
    [{ rateLimit: { tasks: 5, interval: 1000 } }, /unknown option "rateLimit\.interval" \(did you mean "?rateLimit\.per/],
  ];
  for (const [options, message] of cases) {
    t.throws(() => createLb(t, { worker, workers: 1, ...options }), { code: "ERR_ZEROLB_INVALID_OPTION", message }, JSON.stringify(options));
  }
});
