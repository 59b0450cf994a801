// The caller side of bench/fleet.sh: a LoadBalancer with no local worker and a Curve endpoint
// (allow-list) in its own network namespace; remote workers join from other namespaces. Modes:
//   ideal  --workers W --tasks N [--ms 10]: waits for W workers, times a map of N tasks of ms each
//          against the ideal N × ms / W, and the broker's CPU per task (/proc/<broker>/stat)
//   churn  --seconds S [--ms 10]: a map fed for S seconds while workers join and leave (the
//          script does that); checks each item's result arrives once, with its own value
//   slow   --workers W --tasks N [--hedge]: one of the W workers is slowed (the script sets it);
//          total time, the tail (from the result that left W tasks to go to the last), and the
//          tasks each worker did
// Prints one JSON line.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { LoadBalancer } from "../../dist/index.js";

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    endpoint: { type: "string" }, "server-key": { type: "string" }, "worker-key": { type: "string" },
    workers: { type: "string", default: "2" }, tasks: { type: "string", default: "1000" }, ms: { type: "string", default: "10" },
    seconds: { type: "string", default: "300" }, hedge: { type: "boolean", default: false }, label: { type: "string", default: "" },
  },
});
const mode = positionals[0];
const server = JSON.parse(readFileSync(o["server-key"], "utf8"));
const workerKey = JSON.parse(readFileSync(o["worker-key"], "utf8")).publicKey;
const wanted = Number(o.workers);
const ms = Number(o.ms);

const lb = new LoadBalancer({
  worker: fileURLToPath(new URL("./handler.js", import.meta.url)),
  workers: 0,
  endpoint: o.endpoint,
  curve: { publicKey: server.publicKey, secretKey: server.secretKey, allow: [workerKey] },
  hedge: o.hedge,
});

const cpuTicks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (1/100 s)
};
const items = (n) => Array.from({ length: n }, (_, i) => ({ i, ms }));

async function joined(n) {
  const deadline = Date.now() + 120_000;
  // A warm-up map until n workers are listed and each has run a task.
  for (;;) {
    for await (const _ of lb.map(items(n * 4), { ordered: false }));
    const busy = lb.stats().workers.filter((w) => !w.local && w.done > 0).length;
    if (busy >= n) return;
    if (Date.now() > deadline) throw new Error(`only ${busy} of ${n} workers joined within 120 s`);
  }
}

try {
  await lb.ready;
  let out;
  if (mode === "ideal") {
    await joined(wanted);
    const n = Number(o.tasks);
    const broker = lb.pids.broker;
    const cpu0 = cpuTicks(broker);
    const t0 = performance.now();
    let count = 0;
    for await (const _ of lb.map(items(n))) count++;
    const wall = performance.now() - t0;
    const cpu = (cpuTicks(broker) - cpu0) * 10; // ms
    const ideal = (n * ms) / wanted;
    out = { mode, workers: wanted, tasks: count, ms, wallMs: Math.round(wall), idealMs: ideal, overIdealPct: +((100 * (wall - ideal)) / ideal).toFixed(2), brokerCpuMs: cpu, brokerCpuUsPerTask: +((1000 * cpu) / n).toFixed(1) };
  } else if (mode === "churn") {
    await joined(Math.min(wanted, 2));
    const deadline = performance.now() + Number(o.seconds) * 1000;
    let fed = 0;
    async function* feed() {
      while (performance.now() < deadline) yield { i: fed++, ms };
    }
    const seen = new Uint8Array(Number(o.seconds) * 100_000);
    let results = 0, doubled = 0, wrong = 0;
    for await (const r of lb.map(feed(), { ordered: false, settled: true })) {
      results++;
      if (!r.ok) {
        wrong++;
        continue;
      }
      if (r.value !== r.index) wrong++;
      if (seen[r.index]++) doubled++;
    }
    let lost = 0;
    for (let i = 0; i < fed; i++) if (!seen[i]) lost++;
    const s = lb.stats();
    out = { mode, seconds: Number(o.seconds), items: fed, results, lost, doubled, failedOrWrong: wrong, retried: s.retried, workersSeenAtEnd: s.workers.length };
  } else if (mode === "slow") {
    await joined(wanted);
    const n = Number(o.tasks);
    const before = new Map(lb.stats().workers.map((w) => [w.id, w.done]));
    const times = [];
    const t0 = performance.now();
    for await (const _ of lb.map(items(n), { ordered: false })) times.push(performance.now() - t0);
    const wall = times.at(-1);
    const tail = wall - times[n - 1 - wanted];
    const s = lb.stats();
    const per = s.workers.map((w) => ({ name: w.name, done: w.done - (before.get(w.id) ?? 0) }));
    out = { mode, hedge: o.hedge, workers: wanted, tasks: n, ms, wallMs: Math.round(wall), tailMs: Math.round(tail), idealMs: Math.round((n * ms) / (wanted - 1 + 1 / 4)), hedged: s.hedged, hedgeLost: s.hedgeLost, perWorker: per };
  } else throw new Error(`mode ${mode}? (ideal, churn, slow)`);
  console.log(JSON.stringify({ label: o.label, ...out }));
} finally {
  await lb.close();
}
