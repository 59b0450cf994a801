// A worker that "loads a model" once, in setup(), and scores records with it.
// The model is a logistic regression trained at start on synthetic data (no download): the point
// is the shape — an expensive load once per worker process, then cheap calls per record.

let model;
let loadedAt;

/** Small deterministic PRNG, so every worker trains the same model. */
function rng(seed) {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

/** The "true" rule the synthetic labels follow (the examples' main script checks against it). */
export function truth(features) {
  return 1.5 * features[0] - 2 * features[1] + 0.5 * features[2] > 0.25 ? 1 : 0;
}

const sigmoid = (z) => 1 / (1 + Math.exp(-z));

function train({ samples, epochs, rate }) {
  const random = rng(42);
  const data = Array.from({ length: samples }, () => {
    const x = [random() * 2 - 1, random() * 2 - 1, random() * 2 - 1];
    return { x, y: truth(x) };
  });
  const w = [0, 0, 0];
  let b = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const { x, y } of data) {
      const err = sigmoid(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b) - y;
      for (let i = 0; i < 3; i++) w[i] -= rate * err * x[i];
      b -= rate * err;
    }
  }
  return { w, b };
}

export async function setup(ctx) {
  const started = Date.now();
  model = train(ctx.workerData ?? { samples: 5000, epochs: 30, rate: 0.1 });
  loadedAt = Date.now();
  console.error(`[worker ${process.pid}] model ready in ${loadedAt - started} ms: w=${model.w.map((v) => v.toFixed(2))} b=${model.b.toFixed(2)}`);
}

/** Scores one record: { id, features: [x0, x1, x2] } → { id, probability, label, worker }. */
export default function score(record) {
  const [x0, x1, x2] = record.features;
  const probability = sigmoid(model.w[0] * x0 + model.w[1] * x1 + model.w[2] * x2 + model.b);
  return { id: record.id, probability: Math.round(probability * 1000) / 1000, label: probability >= 0.5 ? 1 : 0, worker: process.pid, loadedAt };
}
