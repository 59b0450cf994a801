// The workloads: what each one runs, with which peers, and how its numbers are read.
//
//   S    start-up (constructor → ready → first result) and close(), 2 workers
//   W1   no-op throughput, 2 workers (a generator streamed through the pool)
//   W2a  1000 × 10 ms tasks, 1 worker       W2b  the same on 2 workers
//   W2c  5000 × 10 ms tasks, 2 workers × concurrency 10
//   W3   64 KiB Buffers in, 64 KiB out (echo), 2 workers: MB/s each way
//   W4   one task at a time (call() in a loop), 2 workers: round-trip p50 and p99
//   W5   1,000,000 no-op tasks streamed: caller RSS at 100k and at 1M, broker and worker RSS
//   W5s  W5 with the caller (the bench process) run as node --max-semi-space-size=2, every peer alike
//   W6   100,000 × 10 ms tasks on 8 workers × concurrency 100: overhead over the ideal 1.25 s
//   C    CPU-bound (1 ms spin) on 2 workers: speed-up over the control's single lane
//   W7a  200,000 review records (5 fields, ~250 bytes) through a trivial handler, 2 workers: CPU
//        per record in each process
//   W7b  the same records scored by a real handler (a few µs each), 2 workers, against the
//        in-process loop (the control's single lane)
//
// A workload is a plain object:
//   id, title          short id (used by --only) and a one-line description (or a function of
//                      the resolved params returning it, to show the sizes)
//   peers              names of modules in ./peers/ to run it with (in this order in the table).
//                      A peer is skipped, with a note, when its file does not exist, when it exports
//                      `unavailable` (the reason), or when it exports `supports` (handler basenames)
//                      without this workload's handler.
//   params({ quick })  the sizes: { handler (file in ./handlers/), workers, concurrency, ... }
//                      `quick` is --quick: smaller sizes, the whole bench under 2 minutes
//   peerParams({ quick })
//                      optional { peer: { ...overrides } } merged over params for that peer (the
//                      control's single lane in C, a smaller size for a slow peer); recorded in
//                      results.json and listed under the table.
//   run(pool, params, tools)
//                      runs in a fresh child process (./child.js) after the pool is ready and warm;
//                      returns { metric: number, ... }. tools.timed(fn) times fn() and measures the
//                      CPU time of this process and of the pool's child processes meanwhile.
//   metrics            [{ key, label, unit, better: "higher" | "lower", digits }] (or a function
//                      of the resolved params returning it): the table rows. Besides what run()
//                      returns, every run records readyMs, firstResultMs, closeMs.
//   chart              the metric key of the workload's panel in the SVG chart (default: the first)
//   compare            [{ metric, kind, a, b, target?, label? }], on the medians:
//                        "ratio": a/b; "diff": a−b (points); "value": a's median alone (no b).
//                      target: { op: ">=" | "<=" | ">" | "<" | "abs<=", value } is checked and shown
//                      (met / MISSED). Besides these, each metric row shows zerolb against the best
//                      of the other peers (control and ceiling are references, not peers).
//   timeoutMs(params)  how long one child may take before it is killed (default 5 minutes)
//
// Peers that have no per-worker concurrency (workerpool, python's Pool.imap) are left out of W2c
// and W6: with one task per worker at a time they would be measured against an ideal they cannot
// reach by design. The ceiling peer (a hand-written DEALER/ROUTER pipeline) only runs noop.js: W1's
// ceiling, and W4's floor (four hops, one message each).
//
// To add a workload, add an object to WORKLOADS, and a handler to ./handlers/ if it needs one.

import { randomFillSync } from "node:crypto";
import { performance } from "node:perf_hooks";
import { sample } from "./lib/proc.js";
import { makeRecords } from "./lib/records.js";

export const TASK_MS = 10;

export function* range(n) {
  for (let i = 0; i < n; i++) yield i;
}

/** Throws unless every task came back exactly once (the results are the inputs 0..n-1). */
export function checkAll({ count, sum }, n) {
  const expected = (n * (n - 1)) / 2;
  if (count !== n || sum !== expected) throw new Error(`expected ${n} results summing to ${expected}; got ${count} summing to ${sum}`);
}

/** Throws unless n Buffer results of `size` bytes each came back (stream() adds their byteLength). */
export function checkBytes({ count, sum }, n, size) {
  if (count === n && sum === n * size) return;
  const got = typeof sum === "number" ? `${sum} bytes` : `a ${typeof sum} sum (${String(sum).length} chars: stream() must add a Buffer result's byteLength)`;
  throw new Error(`expected ${n} results of ${size} bytes (${n * size} in all); got ${count} results, ${got}`);
}

/** p-th percentile (0..100) of sorted values, nearest rank. */
function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const MB = 1e6;
/** 1000000 → "1M", 300000 → "300k", 5000 → "5,000". */
const fmtK = (n) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 10_000 && n % 1000 === 0 ? `${n / 1000}k` : n.toLocaleString("en-US"));

const startup = {
  id: "S",
  title: "start-up and close, 2 workers, no-op handler",
  peers: ["zerolb", "piscina", "workerpool", "tinypool"],
  params: () => ({ handler: "noop.js", workers: 2, concurrency: 1 }),
  async run() {
    return {}; // the child's own timings (constructor → ready → first result, close) are the measurement
  },
  metrics: [
    { key: "firstResultMs", label: "constructor → first result", unit: "ms", better: "lower", digits: 0 },
    { key: "readyMs", label: "constructor → ready", unit: "ms", better: "lower", digits: 0 },
    { key: "closeMs", label: "close()", unit: "ms", better: "lower", digits: 0 },
  ],
  compare: [
    { metric: "firstResultMs", kind: "ratio", a: "zerolb", b: "piscina" },
    { metric: "closeMs", kind: "ratio", a: "zerolb", b: "piscina" },
  ],
  timeoutMs: () => 60_000,
};

/**
 * Streams p.warmup items (JIT warm-up, not timed), then times p.tasks: throughput and CPU per task
 * over every process. `items(n)` makes the input; `check(result, n)` throws unless all n came back.
 */
async function streamTimed(pool, p, timed, items, check) {
  check(await pool.stream(items(p.warmup)), p.warmup);
  const { ms, value, resources } = await timed(() => pool.stream(items(p.tasks)));
  check(value, p.tasks);
  return { ms, tasksPerSec: (p.tasks / ms) * 1000, cpuUsPerTask: (resources.total.cpuMs * 1000) / p.tasks, resources };
}

const w1 = {
  id: "W1",
  title: (p) => `no-op throughput: ${fmtK(p.tasks)} tasks streamed from a generator, ${p.workers} workers`,
  peers: ["zerolb", "ceiling", "piscina", "workerpool", "tinypool", "python", "control"],
  params: ({ quick }) => ({ handler: "noop.js", workers: 2, concurrency: 1, tasks: quick ? 50_000 : 300_000, warmup: quick ? 20_000 : 100_000 }),
  // workerpool runs ~11k no-op tasks/s here: 300k + 100k would take ~40 s a round.
  peerParams: ({ quick }) => ({ workerpool: quick ? { tasks: 20_000, warmup: 5_000 } : { tasks: 100_000, warmup: 20_000 } }),
  run: (pool, p, { timed }) => streamTimed(pool, p, timed, range, checkAll),
  metrics: [
    { key: "tasksPerSec", label: "throughput", unit: "tasks/s", better: "higher", digits: 0 },
    { key: "cpuUsPerTask", label: "CPU, all processes", unit: "µs/task", better: "lower", digits: 1 },
  ],
  compare: [
    { metric: "tasksPerSec", kind: "ratio", a: "zerolb", b: "piscina", target: { op: ">=", value: 20 } },
    { metric: "tasksPerSec", kind: "ratio", a: "zerolb", b: "ceiling", target: { op: ">=", value: 0.85 } },
    { metric: "tasksPerSec", kind: "ratio", a: "zerolb", b: "workerpool" },
    { metric: "tasksPerSec", kind: "ratio", a: "zerolb", b: "tinypool" },
    { metric: "tasksPerSec", kind: "ratio", a: "zerolb", b: "python" },
    { metric: "cpuUsPerTask", kind: "ratio", a: "zerolb", b: "piscina" },
  ],
};

/**
 * W2 and W6: n tasks of 10 ms; overhead over the ideal n × 10 ms / (workers × concurrency). With
 * p.warmup, that many tasks run first, untimed.
 */
function sleepRun() {
  return async (pool, p, { timed }) => {
    if (p.warmup) checkAll(await pool.stream(range(p.warmup)), p.warmup);
    const { ms, value, resources } = await timed(() => pool.stream(range(p.tasks)));
    checkAll(value, p.tasks);
    const idealMs = (p.tasks * TASK_MS) / (p.workers * p.concurrency);
    return { ms, idealMs, overheadPct: (ms / idealMs - 1) * 100, cpuMs: resources.total.cpuMs, resources };
  };
}

function sleepWorkload(id, what, { tasks, quickTasks, workers, concurrency, peers, warmup = 0 }) {
  return {
    id,
    title: (p) => `${what}: ${fmtK(p.tasks)} × ${TASK_MS} ms tasks, ${workers} worker${workers > 1 ? "s" : ""}${concurrency > 1 ? ` × concurrency ${concurrency}` : ""}`,
    peers,
    params: ({ quick }) => ({ handler: "sleep10.js", workers, concurrency, tasks: quick ? quickTasks : tasks, warmup: quick ? Math.min(warmup, quickTasks) : warmup }),
    run: sleepRun(),
    metrics: [{ key: "overheadPct", label: "overhead over ideal", unit: "%", better: "lower", digits: 2 }],
    compare: [
      { metric: "overheadPct", kind: "diff", a: "zerolb", b: "control", target: { op: "<=", value: 1 } },
      { metric: "overheadPct", kind: "diff", a: "zerolb", b: "piscina" },
    ],
    timeoutMs: (p) => 60_000 + p.tasks * TASK_MS * 3,
  };
}

const W2_PEERS = ["zerolb", "piscina", "workerpool", "tinypool", "python", "control"];
const W2C_PEERS = ["zerolb", "piscina", "tinypool", "control"]; // per-worker concurrency needed

const KiB64 = 64 * 1024;
const w3 = {
  id: "W3",
  title: (p) => `payload: ${fmtK(p.tasks)} × 64 KiB Buffers in, 64 KiB out (echo), ${p.workers} workers`,
  peers: ["zerolb", "piscina", "workerpool", "tinypool", "python"],
  params: ({ quick }) => ({ handler: "echo.js", workers: 2, concurrency: 1, size: KiB64, tasks: quick ? 3_000 : 20_000, warmup: quick ? 500 : 2_000 }),
  // workerpool's process mode sends each Buffer through the IPC channel's serialization.
  peerParams: ({ quick }) => ({ workerpool: quick ? { tasks: 300, warmup: 50 } : { tasks: 3_000, warmup: 500 } }),
  async run(pool, p, { timed }) {
    // A few preallocated Buffers with distinct content, yielded in turn (no allocation per task).
    const buffers = Array.from({ length: 16 }, () => randomFillSync(Buffer.allocUnsafe(p.size)));
    const items = function* (n) {
      for (let i = 0; i < n; i++) yield buffers[i % buffers.length];
    };
    const r = await streamTimed(pool, p, timed, items, (value, n) => checkBytes(value, n, p.size));
    return { ...r, mbPerSec: (p.tasks * p.size) / MB / (r.ms / 1000) };
  },
  metrics: [
    { key: "mbPerSec", label: "payload, each way", unit: "MB/s", better: "higher", digits: 0 },
    { key: "cpuUsPerTask", label: "CPU, all processes", unit: "µs/task", better: "lower", digits: 0 },
  ],
  compare: [
    { metric: "mbPerSec", kind: "ratio", a: "zerolb", b: "workerpool", target: { op: ">=", value: 2 } },
    { metric: "mbPerSec", kind: "ratio", a: "zerolb", b: "piscina" },
  ],
};

// W4's floor is the ceiling peer: its call() is one message per hop through the same three-process
// topology (this process → broker process → worker process and back: four hops), with nothing else.
const w4 = {
  id: "W4",
  title: (p) => `latency: ${fmtK(p.calls)} round trips one at a time (call() in a loop), ${p.workers} workers`,
  peers: ["zerolb", "ceiling", "piscina", "workerpool", "tinypool", "python"],
  params: ({ quick }) => ({ handler: "noop.js", workers: 2, concurrency: 1, calls: quick ? 1_000 : 5_000, warmup: quick ? 2_000 : 5_000 }),
  async run(pool, p) {
    for (let i = 0; i < p.warmup; i++) await pool.call(i);
    const us = new Float64Array(p.calls);
    const start = performance.now();
    for (let i = 0; i < p.calls; i++) {
      const t = performance.now();
      const r = await pool.call(i);
      us[i] = (performance.now() - t) * 1000;
      if (r !== i) throw new Error(`call(${i}) returned ${r}`);
    }
    const ms = performance.now() - start;
    us.sort();
    return { ms, p50Us: percentile(us, 50), p90Us: percentile(us, 90), p99Us: percentile(us, 99), maxUs: us[us.length - 1], callsPerSec: (p.calls / ms) * 1000 };
  },
  metrics: [
    { key: "p50Us", label: "round trip p50", unit: "µs", better: "lower", digits: 0 },
    { key: "p99Us", label: "round trip p99", unit: "µs", better: "lower", digits: 0 },
  ],
  compare: [
    { metric: "p50Us", kind: "ratio", a: "zerolb", b: "workerpool", target: { op: "<=", value: 1.5 } },
    { metric: "p50Us", kind: "ratio", a: "zerolb", b: "piscina" },
    { metric: "p50Us", kind: "ratio", a: "zerolb", b: "ceiling", label: "vs the four-hop floor", target: { op: "<=", value: 1.2 } },
    { metric: "p99Us", kind: "ratio", a: "zerolb", b: "ceiling", label: "vs the four-hop floor", target: { op: "<=", value: 2 } },
    { metric: "p99Us", kind: "value", a: "zerolb", target: { op: "<", value: 1000 } },
  ],
};

const w5 = {
  id: "W5",
  title: (p) => `memory: ${fmtK(p.tasks)} no-op tasks streamed from a generator, ${p.workers} workers`,
  peers: ["zerolb", "piscina", "workerpool"],
  params: ({ quick }) => ({ handler: "noop.js", workers: 2, concurrency: 1, tasks: quick ? 200_000 : 1_000_000, checkAt: quick ? 50_000 : 100_000 }),
  // piscina ~45k and workerpool ~11k no-op tasks/s here (workerpool at 300k as in the issue's reference).
  peerParams: ({ quick }) => (quick ? { piscina: { tasks: 100_000 }, workerpool: { tasks: 30_000, checkAt: 10_000 } } : { workerpool: { tasks: 300_000 } }),
  async run(pool, p, { timed }) {
    const mb = (kib) => (Number.isFinite(kib) ? (kib * 1024) / MB : undefined);
    let atCheck;
    let end;
    let peak = 0;
    function* items(n) {
      for (let i = 0; i < n; i++) {
        if ((i & 1023) === 0) peak = Math.max(peak, process.memoryUsage.rss());
        if (i === p.checkAt) atCheck = { rss: process.memoryUsage.rss(), pool: sample(pool.processes()) };
        yield i;
      }
      // The pool asked past the last item: all n went in.
      const rss = process.memoryUsage.rss();
      peak = Math.max(peak, rss);
      end = { rss, pool: sample(pool.processes()) };
    }
    const { ms, value, resources } = await timed(() => pool.stream(items(p.tasks)));
    checkAll(value, p.tasks);
    const role = (s, r) => mb(s.pool[r]?.rssKiB);
    return {
      ms,
      tasksPerSec: (p.tasks / ms) * 1000,
      rssCheckMB: atCheck.rss / MB,
      rssEndMB: end.rss / MB,
      rssPeakMB: peak / MB,
      rssGrowthPct: (end.rss / atCheck.rss - 1) * 100,
      brokerRssCheckMB: role(atCheck, "broker"),
      brokerRssEndMB: role(end, "broker"),
      workersRssEndMB: role(end, "workers"),
      workersRssGrowthPct: atCheck.pool.workers ? (end.pool.workers.rssKiB / atCheck.pool.workers.rssKiB - 1) * 100 : undefined,
      resources,
    };
  },
  metrics: (p) => [
    { key: "rssEndMB", label: `caller RSS at ${fmtK(p.tasks)}`, unit: "MB", better: "lower", digits: 1 },
    { key: "rssCheckMB", label: `caller RSS at ${fmtK(p.checkAt)}`, unit: "MB", better: "lower", digits: 1 },
    { key: "rssGrowthPct", label: `caller RSS, ${fmtK(p.tasks)} vs ${fmtK(p.checkAt)}`, unit: "%", better: "lower", digits: 1 },
    { key: "rssPeakMB", label: "caller RSS, peak", unit: "MB", better: "lower", digits: 1 },
    { key: "brokerRssEndMB", label: `broker RSS at ${fmtK(p.tasks)}`, unit: "MB", better: "lower", digits: 1 },
    { key: "workersRssEndMB", label: `worker RSS at ${fmtK(p.tasks)}, all`, unit: "MB", better: "lower", digits: 1 },
    { key: "tasksPerSec", label: "throughput", unit: "tasks/s", better: "higher", digits: 0 },
  ],
  compare: [
    { metric: "rssEndMB", kind: "value", a: "zerolb", target: { op: "<", value: 100 } },
    { metric: "rssGrowthPct", kind: "value", a: "zerolb", target: { op: "abs<=", value: 10 } },
  ],
  timeoutMs: (p) => 120_000 + p.tasks / 5, // 5 tasks/ms, past the slowest peer's own size
};

// W5 again with the caller's young generation capped. A caller's RSS can grow over a long stream
// without retaining anything: V8 doubles its young generation (up to 16 MB semi-spaces) once the
// bytes that survived scavenges add up (zerolb's caller did, to W5 +11.5 %, until a decoded
// message stopped outliving its handling). One flag on the caller's node command rules that
// out, for every peer alike; zerolb's own broker and workers are left at V8's defaults.
const w5s = {
  ...w5,
  id: "W5s",
  title: (p) => `${w5.title(p)}; caller run as node --max-semi-space-size=2`,
  peers: ["zerolb", "piscina"],
  peerParams: ({ quick }) => (quick ? { piscina: { tasks: 100_000 } } : {}),
  execArgv: ["--max-semi-space-size=2"],
};

const w6 = {
  // A warm-up round as large as the measured one, as W1 has: 800 lanes give each of 8 worker
  // processes (or threads) only ~1,600 calls of each function in the timed phase, and without it
  // a third of their CPU there goes to V8's optimizing compiler (perf, 2026-11-25).
  ...sleepWorkload("W6", "high concurrency", { tasks: 100_000, quickTasks: 20_000, workers: 8, concurrency: 100, peers: ["zerolb", "piscina", "control"], warmup: 100_000 }),
  compare: [
    { metric: "overheadPct", kind: "value", a: "zerolb", target: { op: "<=", value: 3 } },
    { metric: "overheadPct", kind: "diff", a: "zerolb", b: "control" },
    { metric: "overheadPct", kind: "diff", a: "zerolb", b: "piscina" },
  ],
  timeoutMs: () => 180_000,
};

const cpu = {
  id: "C",
  title: (p) => `CPU-bound: ${fmtK(p.tasks)} × 1 ms spins on ${p.workers} workers, against the control's single lane`,
  peers: ["zerolb", "piscina", "workerpool", "tinypool", "python", "control"],
  params: ({ quick }) => ({ handler: "busy1ms.js", workers: 2, concurrency: 1, tasks: quick ? 1_500 : 4_000 }),
  peerParams: () => ({ control: { workers: 1, concurrency: 1 } }), // the serial baseline
  async run(pool, p, { timed }) {
    const { ms, value, resources } = await timed(() => pool.stream(range(p.tasks)));
    checkAll(value, p.tasks);
    return { ms, cpuMs: resources.total.cpuMs, resources };
  },
  metrics: [{ key: "ms", label: "time (control: 1 lane)", unit: "ms", better: "lower", digits: 0 }],
  compare: [
    { metric: "ms", kind: "ratio", a: "control", b: "zerolb", label: "speed-up", target: { op: ">=", value: 1.8 } },
    { metric: "ms", kind: "ratio", a: "control", b: "piscina", label: "speed-up" },
    { metric: "ms", kind: "ratio", a: "control", b: "workerpool", label: "speed-up" },
  ],
};

/**
 * W7: the same deterministic records for every peer, built before the clock starts. The handler
 * returns a number that folds in the record's id; `expected(records)` is what the results add up to.
 * CPU per record is reported per process role: the caller (this process: for the thread pools and
 * the control, all their work), the broker, and the workers together.
 */
function recordsWorkload(id, what, { handler, expected, peers, peerParams, compare }) {
  return {
    id,
    title: (p) => `records: ${fmtK(p.tasks)} reviews (5 fields, ~250 bytes) ${what}, ${p.workers} workers`,
    peers,
    params: ({ quick }) => ({ handler, workers: 2, concurrency: 1, tasks: quick ? 50_000 : 200_000, warmup: quick ? 20_000 : 50_000 }),
    peerParams,
    async run(pool, p, { timed }) {
      const records = makeRecords(p.tasks);
      const want = await expected(records);
      const items = (n) => (n === records.length ? records : records.slice(0, n));
      const check = ({ count, sum }, n) => {
        const target = n === records.length ? want : null;
        if (count !== n || (target !== null && sum !== target)) throw new Error(`expected ${n} results${target === null ? "" : ` adding to ${target}`}; got ${count} adding to ${sum}`);
      };
      const r = await streamTimed(pool, p, timed, items, check);
      const perRecord = (role) => (r.resources[role] ? (r.resources[role].cpuMs * 1000) / p.tasks : undefined);
      return {
        ...r,
        recordsPerSec: r.tasksPerSec,
        callerUs: perRecord("caller"),
        brokerUs: perRecord("broker"),
        workersUs: perRecord("workers"),
      };
    },
    metrics: [
      { key: "recordsPerSec", label: "throughput", unit: "records/s", better: "higher", digits: 0 },
      { key: "cpuUsPerTask", label: "CPU, all processes", unit: "µs/record", better: "lower", digits: 2 },
      { key: "callerUs", label: "CPU, caller process", unit: "µs/record", better: "lower", digits: 2 },
      { key: "brokerUs", label: "CPU, broker process", unit: "µs/record", better: "lower", digits: 2 },
      { key: "workersUs", label: "CPU, worker processes (all)", unit: "µs/record", better: "lower", digits: 2 },
    ],
    compare,
    timeoutMs: () => 180_000,
  };
}

const w7a = recordsWorkload("W7a", "through a trivial handler", {
  handler: "record-id.js",
  expected: (records) => (records.length * (records.length - 1)) / 2,
  peers: ["zerolb", "piscina", "control"],
  compare: [
    { metric: "callerUs", kind: "value", a: "zerolb", target: { op: "<=", value: 1.5 } },
    { metric: "brokerUs", kind: "value", a: "zerolb", target: { op: "<=", value: 0.7 } },
    { metric: "recordsPerSec", kind: "ratio", a: "zerolb", b: "piscina" },
    { metric: "cpuUsPerTask", kind: "ratio", a: "zerolb", b: "piscina" },
  ],
});

const w7b = recordsWorkload("W7b", "scored by a real handler (lexicon sentiment, a few µs)", {
  handler: "record-score.js",
  async expected(records) {
    const { default: recordScore } = await import("./handlers/record-score.js");
    let sum = 0;
    for (const r of records) sum += recordScore(r);
    return sum;
  },
  peers: ["zerolb", "piscina", "control"],
  peerParams: () => ({ control: { workers: 1, concurrency: 1 } }), // the in-process loop: one lane
  compare: [
    { metric: "recordsPerSec", kind: "ratio", a: "zerolb", b: "control", label: "vs the in-process loop", target: { op: ">=", value: 0.9 } },
    { metric: "recordsPerSec", kind: "ratio", a: "piscina", b: "control", label: "vs the in-process loop" },
    { metric: "recordsPerSec", kind: "ratio", a: "zerolb", b: "piscina" },
  ],
});

export const WORKLOADS = [
  startup,
  w1,
  sleepWorkload("W2a", "classic 10 ms", { tasks: 1000, quickTasks: 100, workers: 1, concurrency: 1, peers: W2_PEERS }),
  sleepWorkload("W2b", "classic 10 ms", { tasks: 1000, quickTasks: 200, workers: 2, concurrency: 1, peers: W2_PEERS }),
  sleepWorkload("W2c", "classic 10 ms", { tasks: 5000, quickTasks: 1000, workers: 2, concurrency: 10, peers: W2C_PEERS }),
  w3,
  w4,
  w5,
  w5s,
  w6,
  cpu,
  w7a,
  w7b,
];
