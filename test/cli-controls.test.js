// `zerolb map`'s production-control flags (README "Production controls"): --retries, --retry-delay,
// --priority, --rate-limit, --max-tasks-per-worker, --max-worker-memory, --batch-size, --batch-wait.
import { readFileSync } from "node:fs";
import t from "tap";
import { fixture, tmpPath } from "./helpers.js";
import { jsonl, parseLines, runCli } from "./cli-helpers.js";

const CONTROLS = fixture("controls.js");
const logOf = (log) => readFileSync(log, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));

t.test("map --retries --retry-delay: a failing handler runs again", async (t) => {
  const log = tmpPath(t);
  const input = jsonl([1, 2].map((key) => ({ op: "flaky", key, fails: 2, log })));
  const r = await runCli(t, ["map", CONTROLS, "--workers", "1", "--retries", "2", "--retry-delay", "50"], { input });
  t.equal(r.code, 0, r.stderr);
  t.same(parseLines(r.stdout), [{ key: 1, attempt: 3 }, { key: 2, attempt: 3 }]);
  const runs = logOf(log).filter((x) => x.key === 1);
  t.ok(runs[1].t - runs[0].t >= 25, `the first retry waited at least half of --retry-delay (${runs[1].t - runs[0].t} ms)`);
  const none = await runCli(t, ["map", CONTROLS, "--workers", "1", "--settled"], { input: jsonl([{ op: "flaky", key: 3, fails: 1 }]) });
  t.equal(parseLines(none.stdout)[0].ok, false, "without --retries the first failure is final");
});

t.test("map --priority: the run's tasks carry it (accepted, checked)", async (t) => {
  const r = await runCli(t, ["map", CONTROLS, "--workers", "1", "--priority", "7"], { input: jsonl([{ key: 1 }]) });
  t.equal(r.code, 0, r.stderr);
  t.equal(parseLines(r.stdout)[0].key, 1);
  const bad = await runCli(t, ["map", CONTROLS, "--priority", "high"], { input: "1\n" });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--priority must be an integer/);
});

t.test("map --rate-limit N/MS: no N+1 starts within MS", async (t) => {
  const log = tmpPath(t);
  const r = await runCli(t, ["map", CONTROLS, "--workers", "2", "--rate-limit", "2/300"], { input: jsonl([1, 2, 3, 4, 5, 6].map((key) => ({ key, log }))) });
  t.equal(r.code, 0, r.stderr);
  const starts = logOf(log).map((x) => x.t).sort((a, b) => a - b);
  let closest = Infinity;
  for (let i = 0; i + 2 < starts.length; i++) closest = Math.min(closest, starts[i + 2] - starts[i]);
  // 100 ms for the varying travel of a task from the broker's dispatch to its start (see rate-limit.test.js).
  t.ok(closest >= 200, `any 3 starts span at least 200 ms (closest ${closest})`);
  const bad = await runCli(t, ["map", CONTROLS, "--rate-limit", "10"], { input: "1\n" });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--rate-limit must be N\/MS/);
});

t.test("map --max-tasks-per-worker and --max-worker-memory: workers are replaced, every result once", async (t) => {
  const items = [1, 2, 3, 4, 5, 6].map((key) => ({ key }));
  const r = await runCli(t, ["map", CONTROLS, "--workers", "1", "--max-tasks-per-worker", "2"], { input: jsonl(items) });
  t.equal(r.code, 0, r.stderr);
  const out = parseLines(r.stdout);
  t.same(out.map((x) => x.key), [1, 2, 3, 4, 5, 6]);
  t.ok(new Set(out.map((x) => x.pid)).size >= 3, "3 processes at least ran 6 tasks, 2 each at most");
  const mem = await runCli(t, ["map", CONTROLS, "--workers", "1", "--max-worker-memory", "200"], { input: jsonl(items.map((x) => ({ ...x, op: "hold", mib: 40 }))) });
  t.equal(mem.code, 0, mem.stderr);
  const memOut = parseLines(mem.stdout);
  t.same(memOut.map((x) => x.key), [1, 2, 3, 4, 5, 6]);
  t.ok(new Set(memOut.map((x) => x.pid)).size >= 2, "240 MiB held in all: more than one process under a 200 MiB limit");
});

t.test("map --batch-size --batch-wait: the handler gets arrays", async (t) => {
  const log = tmpPath(t);
  const r = await runCli(t, ["map", CONTROLS, "--fn", "double", "--workers", "1", "--batch-size", "4", "--batch-wait", "50"], { input: jsonl([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((key) => ({ key, log }))) });
  t.equal(r.code, 0, r.stderr);
  t.same(parseLines(r.stdout), [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
  const sizes = logOf(log).map((x) => x.size);
  t.equal(sizes.reduce((a, b) => a + b, 0), 10);
  t.ok(sizes.every((n) => n <= 4), `no batch above 4 (${sizes})`);
  const bad = await runCli(t, ["map", CONTROLS, "--batch-wait", "5"], { input: "1\n" });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--batch-wait needs --batch-size/);
});

t.test("map --help lists the production-control flags", async (t) => {
  const r = await runCli(t, ["map", "--help"]);
  for (const flag of ["--retries", "--retry-delay", "--priority", "--rate-limit", "--max-tasks-per-worker", "--max-worker-memory", "--batch-size", "--batch-wait"]) {
    t.match(r.stdout, flag, flag);
  }
});
