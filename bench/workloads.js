// The workloads: what each one runs, with which peers, and how its numbers are read.
//
// A workload is a plain object:
//   id, title          short id (used by --only) and a one-line description
//   peers              names of modules in ./peers/ to run it with (in this order in the table)
//   params({ quick })  the sizes: { handler (file in ./handlers/), workers, concurrency, ... }
//                      `quick` is --quick: smaller sizes, the whole bench under 2 minutes
//   run(pool, params, tools)
//                      runs in a fresh child process (./child.js) after the pool is ready and warm;
//                      returns { metric: number, ... }. tools.timed(fn) times fn() and measures the
//                      CPU time of this process and of the pool's child processes meanwhile.
//   metrics            [{ key, label, unit, better: "higher" | "lower", digits }]: the table rows.
//                      Besides what run() returns, every run records readyMs, firstResultMs, closeMs.
//   compare            [{ metric, kind: "ratio" | "diff", a, b, target? }]: a/b or a-b of the medians;
//                      target: { op: ">=" | "<=", value } is checked and shown.
//   timeoutMs(params)  how long one child may take before it is killed (default 5 minutes)
//
// To add a workload (W3 payloads, W4 latency, W5 memory, W6 high concurrency), add an object to
// WORKLOADS, and a handler to ./handlers/ if it needs one. Nothing else has to change.

export const TASK_MS = 10;

export function* range(n) {
  for (let i = 0; i < n; i++) yield i;
}

/** Throws unless every task came back exactly once (the results are the inputs 0..n-1). */
export function checkAll({ count, sum }, n) {
  const expected = (n * (n - 1)) / 2;
  if (count !== n || sum !== expected) throw new Error(`expected ${n} results summing to ${expected}; got ${count} summing to ${sum}`);
}

const startup = {
  id: "S",
  title: "start-up and close, 2 workers, no-op handler",
  peers: ["zerolb", "piscina"],
  params: () => ({ handler: "noop.js", workers: 2, concurrency: 1 }),
  async run() {
    return {}; // the child's own timings (constructor → ready → first result, close) are the measurement
  },
  metrics: [
    { key: "readyMs", label: "constructor → ready", unit: "ms", better: "lower", digits: 0 },
    { key: "firstResultMs", label: "constructor → first result", unit: "ms", better: "lower", digits: 0 },
    { key: "closeMs", label: "close()", unit: "ms", better: "lower", digits: 0 },
  ],
  compare: [
    { metric: "firstResultMs", kind: "ratio", a: "zerolb", b: "piscina" },
    { metric: "closeMs", kind: "ratio", a: "zerolb", b: "piscina" },
  ],
  timeoutMs: () => 60_000,
};

const w1 = {
  id: "W1",
  title: "no-op throughput, 2 workers (lb.map over a generator)",
  peers: ["zerolb", "piscina", "control"],
  params: ({ quick }) => ({ handler: "noop.js", workers: 2, concurrency: 1, tasks: quick ? 50_000 : 300_000, warmup: quick ? 20_000 : 100_000 }),
  async run(pool, p, { timed }) {
    await pool.stream(range(p.warmup)); // JIT warm-up, not timed
    const { ms, value, resources } = await timed(() => pool.stream(range(p.tasks)));
    checkAll(value, p.tasks);
    return {
      ms,
      tasksPerSec: (p.tasks / ms) * 1000,
      cpuUsPerTask: (resources.total.cpuMs * 1000) / p.tasks,
      resources,
    };
  },
  metrics: [
    { key: "tasksPerSec", label: "throughput", unit: "tasks/s", better: "higher", digits: 0 },
    { key: "cpuUsPerTask", label: "CPU, all processes", unit: "µs/task", better: "lower", digits: 1 },
  ],
  compare: [
    { metric: "tasksPerSec", kind: "ratio", a: "zerolb", b: "piscina", target: { op: ">=", value: 5 } },
    { metric: "cpuUsPerTask", kind: "ratio", a: "zerolb", b: "piscina" },
  ],
};

/** W2: n tasks of 10 ms; overhead over the ideal n × 10 ms / (workers × concurrency). */
function sleepWorkload(id, what, { tasks, quickTasks, workers, concurrency }) {
  return {
    id,
    title: `${what}: ${tasks} × ${TASK_MS} ms tasks, ${workers} worker${workers > 1 ? "s" : ""}${concurrency > 1 ? ` × concurrency ${concurrency}` : ""}`,
    peers: ["zerolb", "piscina", "control"],
    params: ({ quick }) => ({ handler: "sleep10.js", workers, concurrency, tasks: quick ? quickTasks : tasks }),
    async run(pool, p, { timed }) {
      const { ms, value, resources } = await timed(() => pool.stream(range(p.tasks)));
      checkAll(value, p.tasks);
      const idealMs = (p.tasks * TASK_MS) / (p.workers * p.concurrency);
      return { ms, idealMs, overheadPct: (ms / idealMs - 1) * 100, cpuMs: resources.total.cpuMs, resources };
    },
    metrics: [
      { key: "overheadPct", label: "overhead over ideal", unit: "%", better: "lower", digits: 2 },
    ],
    compare: [
      { metric: "overheadPct", kind: "diff", a: "zerolb", b: "control", target: { op: "<=", value: 2 } },
      { metric: "overheadPct", kind: "diff", a: "zerolb", b: "piscina" },
    ],
    timeoutMs: (p) => 60_000 + p.tasks * TASK_MS * 3,
  };
}

export const WORKLOADS = [
  startup,
  w1,
  sleepWorkload("W2a", "classic 10 ms", { tasks: 1000, quickTasks: 200, workers: 1, concurrency: 1 }),
  sleepWorkload("W2b", "classic 10 ms", { tasks: 1000, quickTasks: 300, workers: 2, concurrency: 1 }),
  sleepWorkload("W2c", "classic 10 ms", { tasks: 5000, quickTasks: 2000, workers: 2, concurrency: 10 }),
];
