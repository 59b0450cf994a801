// Worker processes: load balancing across them, setup() and workerData, concurrency per worker.
import t from "tap";
import { writeFileSync } from "node:fs";
import { collect, createLb, fixture, range, tmpDir, tmpPath, workersAnswering } from "./helpers.js";

/**
 * Runs 400 short tasks; checks both workers ran at least a quarter of them. The tasks sleep rather
 * than spin, so a worker starved of CPU by other processes (tests run in parallel) does not skew
 * the split: what is measured is the scheduler, not the OS.
 */
async function assertEvenSplit(t, lb) {
  const before = new Map(lb.stats().workers.map((w) => [w.pid, w.done]));
  const n = 400;
  const out = await collect(lb.map(range(n, (i) => ({ op: "sleep", ms: 2, value: i }))));
  t.same(out, range(n));
  const workers = lb.stats().workers;
  const pids = lb.pids.workers;
  t.equal(pids.length, 2);
  t.same(workers.map((w) => w.pid).sort(), [...pids].sort(), "stats() lists the two local workers by pid");
  const share = (w) => w.done - (before.get(w.pid) ?? 0);
  t.equal(workers.reduce((sum, w) => sum + share(w), 0), n, "done adds up to the tasks run");
  for (const w of workers) {
    t.ok(w.local, `worker ${w.pid} is local`);
    t.ok(share(w) >= n / 4, `worker ${w.pid} did ${share(w)} of ${n} (at least 25%)`);
    t.equal(w.inFlight, 0, "nothing in flight once the map is over");
  }
}

t.test(".map() - both workers are used and the split is even", async (t) => {
  // Both workers finish setup() together, so neither has a head start.
  const lb = createLb(t, { workers: 2, workerData: { barrier: { dir: tmpDir(t), n: 2 } } });
  await lb.ready;
  await assertEvenSplit(t, lb);
});

t.test(".map() - no worker idles while tasks wait, after one worker ran alone on instant tasks", async (t) => {
  // The second worker joins only after the first has run many instant tasks alone (as when a
  // worker starts late or is restarted). Then a batch of 2 ms tasks must still be shared.
  const gate = { lock: tmpPath(t, "lock"), open: tmpPath(t, "open") };
  const lb = createLb(t, { workers: 2, workerData: { gate } });
  await lb.ready;
  const alone = await collect(lb.map(range(1000, () => ({ op: "info" }))));
  t.equal(new Set(alone.map((i) => i.pid)).size, 1, "the first worker ran alone");
  writeFileSync(gate.open, "");
  await workersAnswering(lb, 2);
  await assertEvenSplit(t, lb);
});

t.test(".map() - pids seen by handlers show both workers taking an even share", async (t) => {
  const lb = createLb(t, { workers: 2, workerData: { barrier: { dir: tmpDir(t), n: 2 } } });
  await lb.ready;
  const n = 400;
  const infos = await collect(lb.map(range(n, () => ({ op: "info", sleep: 2 }))));
  const perPid = new Map();
  for (const info of infos) perPid.set(info.pid, (perPid.get(info.pid) ?? 0) + 1);
  t.same([...perPid.keys()].sort(), [...lb.pids.workers].sort(), "every result came from one of the two workers");
  for (const [pid, count] of perPid) t.ok(count >= n / 4, `worker ${pid} ran ${count} of ${n} (at least 25%)`);
});

t.test("workerData - setup runs once per worker and sees workerData", async (t) => {
  const workerData = { model: "small", n: 3, list: [1, "two", null] };
  const lb = createLb(t, { workers: 2, workerData });
  await workersAnswering(lb, 2);
  const infos = await collect(lb.map(range(200, () => ({ op: "info" }))));
  for (const info of infos) {
    if (info.setupCalls !== 1) t.fail(`worker ${info.pid} ran setup ${info.setupCalls} times`);
  }
  t.ok(infos.every((info) => info.setupCalls === 1), "setup() ran exactly once in every worker");
  t.same(infos[0].workerData, workerData, "setup() got workerData");
  t.same([...new Set(infos.map((i) => i.pid))].sort(), [...lb.pids.workers].sort(), "both workers answered");
});

t.test("workerData - bigint, Date and Uint8Array survive the trip to the workers", async (t) => {
  const workerData = {
    big: 2n ** 62n + 7n,
    negative: -(2n ** 40n),
    when: new Date(Date.UTC(2024, 1, 29, 12, 30, 15, 250)),
    bytes: new Uint8Array([0, 1, 2, 254, 255]),
    nested: { deep: [new Date(0), new Uint8Array(0)] },
  };
  const lb = createLb(t, { workers: 1, workerData });
  const [info] = await collect(lb.map([{ op: "info" }]));
  const got = info.workerData;
  t.type(got.big, "bigint");
  t.equal(got.big, 2n ** 62n + 7n);
  t.equal(got.negative, -(2n ** 40n));
  t.ok(got.when instanceof Date, "a Date stays a Date");
  t.equal(got.when.getTime(), workerData.when.getTime());
  t.ok(got.bytes instanceof Uint8Array, "bytes stay bytes");
  t.same([...got.bytes], [0, 1, 2, 254, 255]);
  t.ok(got.nested.deep[0] instanceof Date);
  t.equal(got.nested.deep[1].length, 0);
});

t.test("concurrency - 4 runs four async tasks at once in one worker", async (t) => {
  const lb = createLb(t, { worker: fixture("concurrency.js"), workers: 1, concurrency: 4 });
  const out = await collect(lb.map(range(8, () => 200)));
  t.equal(new Set(out.map((r) => r.pid)).size, 1, "one worker ran them all");
  t.equal(Math.max(...out.map((r) => r.max)), 4, "four tasks ran at the same time, never more");
});

t.test("concurrency - the default runs one task at a time per worker", async (t) => {
  const lb = createLb(t, { worker: fixture("concurrency.js"), workers: 1 });
  const out = await collect(lb.map(range(6, () => 20)));
  t.equal(Math.max(...out.map((r) => r.max)), 1, "async tasks do not overlap with concurrency 1");
});
