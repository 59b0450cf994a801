// Cancellation reaches every task that has not started, wherever it is held, including a
// worker's prefetch; and a handler that ignores its signal cannot wedge the pool.
import t from "tap";
import { collect, createLb, lineCount, range, tmpPath, waitFor, within } from "./helpers.js";

t.test("break: tasks a worker had prefetched never start once the cancel reaches it", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { workers: 1, workerData: { log } });
  await lb.ready;
  // Quick tasks first, so the worker asks for a large prefetch.
  await collect(lb.map(range(3000)));
  const before = lineCount(log);
  for await (const r of lb.map(range(200, (i) => ({ op: "busy", ms: 20, value: i })))) {
    t.equal(r, 0);
    break;
  }
  // The worker runs its tasks in order: once a task sent now has run, every task it held before
  // has either run or been cancelled.
  t.same(await within(collect(lb.map(["marker"])), 60_000, "a task after the cancelled ones"), ["marker"]);
  const ran = lineCount(log) - before - 1;
  t.ok(ran <= 10, `only tasks that had started by the time the cancel arrived ran (${ran} of 200)`);
});

t.test("a handler that ignores its signal, aborted without a timeout, lets the next map run", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { workers: 1, timeoutGrace: 300, workerData: { log } });
  await lb.ready;
  const abort = new AbortController();
  const stuck = (async () => {
    for await (const _ of lb.map([{ op: "hang" }], { signal: abort.signal })) t.fail("it never ends");
  })();
  await waitFor(() => lineCount(log) === 1, { what: "the handler to start" });
  abort.abort(new Error("enough"));
  await t.rejects(stuck, /enough/, "the map ends with the signal's reason");
  t.same(await within(collect(lb.map([1, 2, 3])), 30_000, "the next map"), [2, 4, 6], "the next map runs");
});
