// Speed-up of CPU-heavy work over one in-process loop: the same handler, the same inputs.
//   npm run build && node examples/cpu-heavy/index.js [items]
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { LoadBalancer } from "../../dist/index.js";
import stretch, { ROUNDS } from "./hash.js";

const N = Number(process.argv[2] ?? 400);
const inputs = Array.from({ length: N }, () => randomBytes(1024));
const workers = availableParallelism();

// 1. One loop in this process.
let t0 = performance.now();
const local = inputs.map((bytes) => stretch(bytes));
const inProcessMs = performance.now() - t0;

// 2. The same work spread over worker processes (start-up excluded: a pool is long-lived).
const lb = new LoadBalancer({ worker: new URL("./hash.js", import.meta.url), workers });
let pooledMs;
try {
  await lb.ready;
  t0 = performance.now();
  const pooled = [];
  for await (const digest of lb.map(inputs)) pooled.push(digest);
  pooledMs = performance.now() - t0;
  const same = pooled.every((d, i) => Buffer.compare(Buffer.from(d), local[i]) === 0);
  if (!same) throw new Error("the pool computed different digests");
  const per = lb.stats().workers.map((w) => w.done).join(" + ");
  console.log(`${N} items × ${ROUNDS} SHA-256 rounds over 1 KiB`);
  console.log(`in-process loop : ${inProcessMs.toFixed(0)} ms`);
  console.log(`zerolb, ${workers} workers: ${pooledMs.toFixed(0)} ms (tasks per worker: ${per})`);
  console.log(`speed-up        : ×${(inProcessMs / pooledMs).toFixed(2)} on ${availableParallelism()} CPUs; results identical`);
} finally {
  await lb.close();
}
