// Soak: a long map while a random worker is SIGKILLed every second and the broker once, against
// the same map without faults. Reports lost, duplicated and retried tasks, throughput, and the
// peak RSS of caller, broker and workers (sampled from /proc).
// Usage: npm run build && node bench/soak.js [tasks=1000000] [workers=2]
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { LoadBalancer } from "../dist/index.js";

const tasks = Number(process.argv[2] ?? 1_000_000);
const workers = Number(process.argv[3] ?? 2);
const worker = fileURLToPath(new URL("../test/fixtures/ops.js", import.meta.url));

function rssKb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function run(faults) {
  const lb = new LoadBalancer({ worker, workers });
  await lb.ready;
  const peak = { caller: 0, broker: 0, worker: 0 };
  const sample = setInterval(() => {
    const { broker, workers: pids } = lb.pids;
    peak.caller = Math.max(peak.caller, rssKb(process.pid));
    if (broker) peak.broker = Math.max(peak.broker, rssKb(broker));
    for (const pid of pids) peak.worker = Math.max(peak.worker, rssKb(pid));
  }, 100);
  let kills = 0;
  let brokerKilled = false;
  const killer = faults
    ? setInterval(() => {
        const { workers: pids, broker } = lb.pids;
        if (!brokerKilled && kills === 3 && broker) {
          brokerKilled = true;
          process.kill(broker, "SIGKILL");
          return;
        }
        const victim = pids[Math.floor(Math.random() * pids.length)];
        if (victim) {
          process.kill(victim, "SIGKILL");
          kills++;
        }
      }, 1000)
    : undefined;
  // One bit per task: a second result for the same task is a duplicate.
  const seen = new Uint8Array(tasks);
  let duplicated = 0;
  function* source() {
    for (let i = 0; i < tasks; i++) yield i;
  }
  const t0 = performance.now();
  try {
    for await (const r of lb.map(source(), { ordered: false })) {
      const i = r / 2;
      if (seen[i]) duplicated++;
      seen[i] = 1;
    }
  } finally {
    clearInterval(killer);
    clearInterval(sample);
  }
  const seconds = (performance.now() - t0) / 1000;
  let lost = 0;
  for (let i = 0; i < tasks; i++) if (!seen[i]) lost++;
  const s = lb.stats();
  await lb.close();
  return {
    faults,
    tasks,
    seconds: +seconds.toFixed(2),
    tasksPerSecond: Math.round(tasks / seconds),
    lost,
    duplicated,
    retried: s.retried,
    workerKills: kills,
    brokerKills: brokerKilled ? 1 : 0,
    workerRestarts: s.workerRestarts,
    brokerRestarts: s.brokerRestarts,
    duplicatesDropped: s.duplicatesDropped,
    peakRssMB: { caller: Math.round(peak.caller / 1024), broker: Math.round(peak.broker / 1024), worker: Math.round(peak.worker / 1024) },
  };
}

const clean = await run(false);
const faulty = await run(true);
console.log(JSON.stringify({ clean, faulty }, null, 2));
console.log(`\nthroughput with faults: ${faulty.tasksPerSecond}/s vs ${clean.tasksPerSecond}/s without (${((faulty.tasksPerSecond / clean.tasksPerSecond) * 100).toFixed(0)}%)`);
console.log(`lost ${faulty.lost}, duplicated ${faulty.duplicated}, retried ${faulty.retried}, worker kills ${faulty.workerKills}, broker kills ${faulty.brokerKills}`);
if (faulty.lost || faulty.duplicated || clean.lost || clean.duplicated) process.exitCode = 1;
