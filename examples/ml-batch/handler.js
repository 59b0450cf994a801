// The handler module: the model is built once per worker process (in setup), then
//   predict(input)    one input per call (map's default, batchSize 1)
//   predictBatch(xs)  an array of inputs per call (map with batchSize > 1); an array of results back
// Both run the same model code: the only difference is how many inputs one call gets.
import { argmax, createModel } from "./model.js";

let forward;

export function setup() {
  forward = createModel();
}

export function predict(input) {
  return argmax(forward([input])[0]);
}

export function predictBatch(inputs) {
  return forward(inputs).map(argmax);
}
