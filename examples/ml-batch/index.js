// Batched handler calls: the same model scores the same inputs called once per input, then 64
// inputs per call (map's batchSize), and the speed-up is printed.
//   npm run build && node examples/ml-batch/index.js [inputs]
import { LoadBalancer } from "../../dist/index.js";
import { INPUTS } from "./model.js";

const N = Number(process.argv[2] ?? 4000);

/** N deterministic inputs, each a Float32Array (it travels as one, packed). */
function* inputs() {
  let s = 42;
  for (let n = 0; n < N; n++) {
    const x = new Float32Array(INPUTS);
    for (let i = 0; i < INPUTS; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      x[i] = s / 2 ** 32;
    }
    yield x;
  }
}

async function run(lb, options) {
  const started = performance.now();
  const classes = [];
  for await (const c of lb.map(inputs(), options)) classes.push(c);
  return { ms: performance.now() - started, classes };
}

const lb = new LoadBalancer({ worker: new URL("./handler.js", import.meta.url), workers: 2 });
try {
  await lb.ready;
  await run(lb, { fn: "predictBatch", batchSize: 64 }); // warm-up: both workers' code compiled
  // Two rounds each, interleaved, and the faster of each: a busy machine slows one run or another.
  let one;
  let batched;
  for (let round = 0; round < 2; round++) {
    const a = await run(lb, { fn: "predict" });
    const b = await run(lb, { fn: "predictBatch", batchSize: 64 });
    if (!one || a.ms < one.ms) one = a;
    if (!batched || b.ms < batched.ms) batched = b;
  }
  const same = one.classes.every((c, i) => c === batched.classes[i]);
  console.log(`batchSize 1:  ${N} inputs in ${Math.round(one.ms)} ms (${Math.round((N * 1000) / one.ms)}/s)`);
  console.log(`batchSize 64: ${N} inputs in ${Math.round(batched.ms)} ms (${Math.round((N * 1000) / batched.ms)}/s)`);
  console.log(`speed-up: ×${(one.ms / batched.ms).toFixed(2)}; the same ${N} predictions: ${same ? "yes" : "NO"}`);
  if (!same) process.exitCode = 1;
} finally {
  await lb.close();
}
