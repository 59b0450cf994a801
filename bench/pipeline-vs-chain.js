// A 3-stage linear pipeline over no-op items against the same work as three chained plain maps.
// Usage: node bench/pipeline-vs-chain.js [items] [rounds]
import { fileURLToPath } from "node:url";
import { LoadBalancer, Pipeline } from "../dist/index.js";

const items = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 3);
const worker = fileURLToPath(new URL("../test/fixtures/crawl.js", import.meta.url));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function* source() {
  for (let i = 0; i < items; i++) yield i;
}

const lb = new LoadBalancer({ worker, workers: 2 });
await lb.ready;
try {
const pipeline = new Pipeline({ a: { fn: "echo" }, b: { fn: "echo", after: ["a"] }, c: { fn: "echo", after: ["b"] } });
const results = { pipeline: [], chained: [] };
for (let r = 0; r < rounds; r++) {
  let t0 = performance.now();
  let n = 0;
  for await (const _ of lb.map(source(), { pipeline })) n++;
  results.pipeline.push((n / (performance.now() - t0)) * 1000);

  t0 = performance.now();
  n = 0;
  const stage = (input) => lb.map(input, { fn: "echo" });
  for await (const _ of stage(stage(stage(source())))) n++;
  results.chained.push((n / (performance.now() - t0)) * 1000);
}
  const p = median(results.pipeline);
const c = median(results.chained);
console.log(`3-stage pipeline, ${items} no-op items, 2 workers, median of ${rounds}:`);
console.log(`  pipeline        ${Math.round(p)} items/s`);
console.log(`  3 chained maps  ${Math.round(c)} items/s`);
console.log(`  ratio           ${(p / c).toFixed(2)}x`);
} finally {
  await lb.close();
}
