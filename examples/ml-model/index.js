// Scoring records with a model loaded once per worker (in setup), not once per record.
//   npm run build && node examples/ml-model/index.js
import { LoadBalancer } from "../../dist/index.js";
import { truth } from "./model.js";

const lb = new LoadBalancer({
  worker: new URL("./model.js", import.meta.url),
  workers: 2,
  workerData: { samples: 5000, epochs: 30, rate: 0.1 }, // handed to setup(ctx) as ctx.workerData
});

function* records(n) {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  for (let id = 0; id < n; id++) yield { id, features: [random(), random(), random()] };
}

const N = 20_000;
try {
  await lb.ready; // both models trained: time the scoring alone
  const expected = records(N); // the same records again: results come in input order
  const loads = new Map(); // worker pid → when its model was loaded
  let agree = 0;
  const started = Date.now();
  for await (const scored of lb.map(records(N))) {
    const record = expected.next().value;
    if (scored.id !== record.id) throw new Error("out of order");
    if (scored.label === truth(record.features)) agree++;
    loads.set(scored.worker, scored.loadedAt);
  }
  const ms = Date.now() - started;
  console.log(`scored ${N} records in ${ms} ms (${Math.round((N * 1000) / ms)}/s)`);
  console.log(`agreement with the rule the model learned: ${((agree * 100) / N).toFixed(1)}%`);
  console.log(`models loaded: ${loads.size}, once per worker process (pids ${[...loads.keys()].join(", ")})`);
} finally {
  await lb.close();
}
