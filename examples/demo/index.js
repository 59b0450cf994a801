// `npm start`: a map over local worker processes with a live progress line on stderr, ending with
// the throughput and how many tasks each worker did.
//   npm start            (or: npm run build && node examples/demo/index.js [items] [workers])
import { availableParallelism } from "node:os";
import { LoadBalancer } from "../../dist/index.js";

const N = Number(process.argv[2] ?? 4000);
const WORKERS = Number(process.argv[3] ?? availableParallelism());
const tty = process.stderr.isTTY === true;

console.error(`zerolb demo: counting primes for ${N} numbers on ${WORKERS} worker processes`);
const lb = new LoadBalancer({ worker: new URL("./handler.js", import.meta.url), workers: WORKERS });

function* tasks() {
  for (let i = 0; i < N; i++) yield 20_000 + ((i * 7919) % 40_000); // uneven sizes
}

const fmt = (n) => (n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0));
function line(done, started) {
  const elapsed = (Date.now() - started) / 1000;
  const rate = done / Math.max(elapsed, 1e-3);
  const eta = rate > 0 ? (N - done) / rate : Infinity;
  const s = lb.stats();
  const width = 24;
  const full = Math.round((done / N) * width);
  const perWorker = s.workers.map((w) => `${w.done}${w.inFlight ? "*" : ""}`).join(" ");
  return `${"█".repeat(full)}${"░".repeat(width - full)} ${done}/${N} ${fmt(rate)}/s ETA ${Number.isFinite(eta) ? eta.toFixed(1) : "?"}s | in flight ${s.inFlight} queued ${s.queued} | per worker ${perWorker}`;
}

try {
  await lb.ready;
  const started = Date.now();
  let done = 0;
  let sum = 0;
  const timer = setInterval(() => {
    const text = line(done, started);
    if (tty) process.stderr.write(`\r${text.slice(0, (process.stderr.columns || 120) - 1)}\x1b[K`);
  }, 100);
  const slow = tty ? undefined : setInterval(() => process.stderr.write(`${line(done, started)}\n`), 1000);
  try {
    for await (const primes of lb.map(tasks())) {
      sum += primes;
      done++;
    }
  } finally {
    clearInterval(timer);
    clearInterval(slow);
  }
  const ms = Date.now() - started;
  if (tty) process.stderr.write(`\r${line(done, started).slice(0, (process.stderr.columns || 120) - 1)}\x1b[K\n`);
  const { workers, retried, failed } = lb.stats();
  console.log(`\n${done} tasks in ${(ms / 1000).toFixed(2)} s: ${fmt((done * 1000) / ms)} tasks/s (checksum ${sum}, ${failed} failed, ${retried} retried)`);
  console.log("per worker:");
  for (const w of workers) {
    const share = ((w.done * 100) / done).toFixed(1);
    console.log(`  worker ${w.index} (pid ${w.pid}, ${w.local ? "local" : "remote"}): ${String(w.done).padStart(6)} tasks ${share.padStart(5)}%  ${"▇".repeat(Math.round(Number(share) / 2))}`);
  }
} finally {
  await lb.close();
}
