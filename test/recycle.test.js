// Worker recycling and process options (README "Worker recycling"): maxTasksPerWorker and
// maxWorkerMemory replace a local worker, which drains first (no task lost or run twice, not
// counted as a crash); execArgv and env reach local worker processes.
import { readFileSync } from "node:fs";
import t from "tap";
import { collect, createLb, exactlyOnce, fixture, tmpPath, within } from "./helpers.js";

const runs = (log) => readFileSync(log, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));

t.test("maxTasksPerWorker - each worker process runs at most that many tasks, every result comes once", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 2, concurrency: 2, maxTasksPerWorker: 3 });
  const keys = Array.from({ length: 20 }, (_, i) => i);
  const results = await within(collect(lb.map(keys.map((key) => ({ key, log })), { ordered: false })), 120_000, "the map");
  exactlyOnce(t, results.map((r) => r.key), keys);
  const perPid = new Map();
  for (const r of runs(log)) perPid.set(r.pid, (perPid.get(r.pid) ?? 0) + 1);
  t.equal(runs(log).length, 20, "the handler ran 20 times: none twice");
  t.ok([...perPid.values()].every((n) => n <= 3), `no process ran more than 3 tasks (${[...perPid.values()]})`);
  t.ok(perPid.size >= 7, `at least 7 processes took part (${perPid.size})`);
  const stats = lb.stats();
  t.equal(stats.workerRestarts, 0, "no crash counted");
  t.ok(stats.workersRecycled >= 5, `stats().workersRecycled counts the replacements (${stats.workersRecycled})`);
  t.equal(stats.retried, 0, "no run counted as lost to a death");
});

t.test("maxWorkerMemory - a worker whose RSS grows past the limit is replaced, and no task is lost or run twice", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 1, maxWorkerMemory: 200 });
  // Each task keeps 40 MiB: a worker passes 200 MiB of RSS within a few tasks.
  const keys = Array.from({ length: 12 }, (_, i) => i);
  const results = await within(collect(lb.map(keys.map((key) => ({ op: "hold", mib: 40, key, log })), { ordered: false })), 120_000, "the map");
  exactlyOnce(t, results.map((r) => r.key), keys);
  t.equal(runs(log).length, 12, "the handler ran 12 times: none twice");
  const pids = new Set(results.map((r) => r.pid));
  t.ok(pids.size >= 2, `more than one process ran them (${pids.size})`);
  t.ok(lb.stats().workersRecycled >= 1, "stats().workersRecycled counts it");
  t.equal(lb.stats().workerRestarts, 0, "no crash counted");
});

t.test("execArgv and env reach the local worker processes", async (t) => {
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 1, execArgv: ["--max-old-space-size=256"], env: { ZEROLB_TEST_VAR: "on" } });
  const [info] = await collect(lb.map([{ op: "process", name: "ZEROLB_TEST_VAR" }]));
  t.ok(info.execArgv.includes("--max-old-space-size=256"), "the flag is in process.execArgv");
  t.equal(info.env, "on", "the variable is in process.env");
});

t.test("recycling and process options are checked", async (t) => {
  const worker = fixture("controls.js");
  const cases = [
    [{ maxTasksPerWorker: 0 }, /options\.maxTasksPerWorker must be an integer >= 1/],
    [{ maxWorkerMemory: "1G" }, /options\.maxWorkerMemory must be an integer >= 1/],
    [{ maxtasksperchild: 5 }, /did you mean "?maxTasksPerWorker/],
    [{ execArgv: "--inspect" }, /options\.execArgv must be an array of Node flags/],
    [{ execArgv: ["inspect"] }, /options\.execArgv holds "inspect", not a Node flag/],
    [{ env: { N: 1 } }, /options\.env\.N must be a string/],
    [{ env: ["A=1"] }, /options\.env must be an object/],
  ];
  for (const [options, message] of cases) {
    t.throws(() => createLb(t, { worker, workers: 1, ...options }), { code: "ERR_ZEROLB_INVALID_OPTION", message }, JSON.stringify(options));
  }
});
