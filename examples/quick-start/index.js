// Quick start: map a handler over numbers on a pool of worker processes.
//   npm run build && node examples/quick-start/index.js
import { LoadBalancer } from "../../dist/index.js";

const lb = new LoadBalancer({
  worker: new URL("./handler.js", import.meta.url), // or a path: "./examples/quick-start/handler.js"
  workers: 2,
});
try {
  const results = [];
  for await (const doubled of lb.map([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])) results.push(doubled);
  console.log(results.join(" ")); // 2 4 6 8 10 12 14 16 18 20: in input order

  // Any (async) iterable works; it is read lazily, never more than highWaterMark items ahead.
  function* numbers() {
    for (let i = 0; i < 100_000; i++) yield i;
  }
  let sum = 0;
  for await (const doubled of lb.map(numbers())) sum += doubled;
  console.log(`sum of 100000 doubled numbers: ${sum}`);
} finally {
  await lb.close(); // stops the broker and worker processes (on Node >= 22: `await using lb = …`)
}
