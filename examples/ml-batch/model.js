// A small multilayer perceptron in plain JavaScript (Float32Array weights, made from a fixed seed:
// nothing is downloaded): 512 inputs → 1024 hidden (ReLU) → 16 scores.
//
// The weights are stored quantized, as 4-bit integers packed two to a byte with a scale per row
// (8× smaller than Float32, as models served on CPUs often are), and unpacked row by row as they are
// used. Why a batch pays: a call unpacks every row once, whatever the number of inputs, and then
// uses the unpacked row for each input. Called with one input, unpacking costs about as much again
// as the arithmetic; called with 64, it is spread over 64 inputs.

export const INPUTS = 512;
const HIDDEN = 1024;
export const OUTPUTS = 16;

/**
 * A layer's deterministic weights (a linear congruential generator), quantized: 4-bit values
 * (-8..7) packed two per byte, and a scale per row.
 */
function quantizedLayer(nIn, nOut, seed) {
  const packed = new Uint8Array((nIn * nOut) / 2);
  let s = seed;
  for (let i = 0; i < packed.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    packed[i] = s >>> 24;
  }
  const scales = new Float32Array(nOut).fill(0.05 / 8);
  return { packed, scales, nIn, nOut };
}

/** Unpacks row j of a quantized layer into `row` (nIn floats). */
function unpackRow({ packed, scales, nIn }, j, row) {
  const scale = scales[j];
  const base = (j * nIn) / 2;
  for (let i = 0; i < nIn; i += 2) {
    const byte = packed[base + i / 2];
    row[i] = ((byte & 15) - 8) * scale;
    row[i + 1] = ((byte >> 4) - 8) * scale;
  }
}

export function createModel() {
  const l1 = quantizedLayer(INPUTS, HIDDEN, 1);
  const l2 = quantizedLayer(HIDDEN, OUTPUTS, 2);
  const row = new Float32Array(Math.max(INPUTS, HIDDEN));

  /** One dense layer: out[b][j] = act(sum_i w[j][i] · x[b][i]) for every input b of the batch. */
  function dense(layer, xs, relu) {
    const { nIn, nOut } = layer;
    const out = xs.map(() => new Float32Array(nOut));
    for (let j = 0; j < nOut; j++) {
      unpackRow(layer, j, row); // once per call, used for every input of the batch
      for (let b = 0; b < xs.length; b++) {
        const x = xs[b];
        let sum = 0;
        for (let i = 0; i < nIn; i++) sum += row[i] * x[i];
        out[b][j] = relu && sum < 0 ? 0 : sum;
      }
    }
    return out;
  }

  /** Scores for a batch of inputs (each a Float32Array of INPUTS values): one array of OUTPUTS per input. */
  return function forward(xs) {
    return dense(l2, dense(l1, xs, true), false);
  };
}

/** The index of the highest score: the predicted class. */
export function argmax(scores) {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}
