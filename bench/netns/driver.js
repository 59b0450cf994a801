// The caller side of bench/netns.sh: a LoadBalancer with no local worker and a Curve endpoint,
// waits until the remote workers have joined, times a no-op map and a 64 KiB map, prints JSON.
//   node bench/netns/driver.js --endpoint tcp://10.200.0.1:5555 --server-key S.json --worker-key W.json
//     [--workers 2] [--noop 200000] [--big 10000] [--size 65536] [--label netns]
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { LoadBalancer } from "../../dist/index.js";

const { values: o } = parseArgs({
  options: {
    endpoint: { type: "string" }, "server-key": { type: "string" }, "worker-key": { type: "string" },
    workers: { type: "string", default: "2" }, noop: { type: "string", default: "200000" },
    big: { type: "string", default: "10000" }, size: { type: "string", default: "65536" },
    label: { type: "string", default: "" }, warmup: { type: "string", default: "20000" },
  },
});
const server = JSON.parse(readFileSync(o["server-key"], "utf8"));
const workerKey = JSON.parse(readFileSync(o["worker-key"], "utf8")).publicKey;
const wanted = Number(o.workers);

const lb = new LoadBalancer({
  worker: fileURLToPath(new URL("./handler.js", import.meta.url)),
  workers: 0,
  endpoint: o.endpoint,
  curve: { publicKey: server.publicKey, secretKey: server.secretKey, allow: [workerKey] },
});
try {
  await lb.ready;
  // Warm up until every remote worker has run tasks (ready promises only the broker).
  const deadline = Date.now() + 60_000;
  for (;;) {
    for await (const _ of lb.map(numbers(Number(o.warmup)), { ordered: false }));
    const busy = lb.stats().workers.filter((w) => !w.local && w.done > 0).length;
    if (busy >= wanted) break;
    if (Date.now() > deadline) throw new Error(`only ${busy} of ${wanted} remote workers joined within 60 s`);
  }
  const noop = await timed(numbers(Number(o.noop)), (r, i) => typeof r === "number");
  const size = Number(o.size);
  const payload = new Uint8Array(size).fill(7);
  const big = await timed(repeat(payload, Number(o.big)), (r) => r instanceof Uint8Array && r.length === size);
  const perWorker = lb.stats().workers.filter((w) => !w.local).map((w) => w.done);
  console.log(JSON.stringify({
    label: o.label, endpoint: lb.endpoint,
    noop: { tasks: noop.n, seconds: noop.seconds, tasksPerSecond: noop.n / noop.seconds },
    big: { tasks: big.n, bytes: size, seconds: big.seconds, tasksPerSecond: big.n / big.seconds, mibPerSecondEachWay: (big.n * size) / big.seconds / 2 ** 20 },
    perWorker,
  }));
} finally {
  await lb.close();
}

function* numbers(n) {
  for (let i = 0; i < n; i++) yield i;
}

function* repeat(value, n) {
  for (let i = 0; i < n; i++) yield value;
}

async function timed(items, check) {
  const t0 = performance.now();
  let n = 0;
  for await (const r of lb.map(items, { ordered: false })) {
    if (!check(r)) throw new Error(`unexpected result ${String(r).slice(0, 40)}`);
    n++;
  }
  return { n, seconds: (performance.now() - t0) / 1000 };
}
