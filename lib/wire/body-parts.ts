// A message body that arrives in one or more frames. Between the caller and its broker (always
// the same build) a body may be split over several frames so that a large payload is never joined
// into one buffer: not by the caller's writer (it seals its buffer and starts another instead of
// growing it by a copy) and not by the broker (it forwards results as views of the frames they came
// in). The values lie back to back over the frames, and none straddles two of them, so each value
// is read or forwarded as a view of the one frame it lies in. A one-frame body is the common case
// and costs nothing more than before.
import { ProtocolError } from "../shared/errors.js";

const NO_FRAMES: readonly Uint8Array[] = [];

export class BodyParts {
  readonly frames: readonly Uint8Array[];
  /** Bytes in all the frames: what the `len` column must add up to. */
  readonly length: number;

  constructor(frames: readonly Uint8Array[]) {
    this.frames = frames;
    let length = 0;
    for (const f of frames) length += f.length;
    this.length = length;
  }

  /** The body of a message: its frames from `first` on (none: an empty body). */
  static of(frames: readonly Uint8Array[], first: number): BodyParts {
    return new BodyParts(frames.length > first ? (first === 0 ? frames : frames.slice(first)) : NO_FRAMES);
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Where each value of a body lies: value i is `frame(i).subarray(start(i), end(i))`, given the
 * values' global offsets (value i is [offsets[i], offsets[i+1]) of the frames' concatenation).
 * Throws a ProtocolError when a value straddles two frames.
 */
export class ValueSpans {
  readonly #frames: readonly Uint8Array[];
  readonly #offsets: Uint32Array;
  /** Frame of each value and global start of each frame; undefined for a body of one frame. */
  readonly #frameOf: Uint32Array | undefined;
  readonly #base: number[] | undefined;

  constructor(parts: BodyParts | Uint8Array, offsets: Uint32Array) {
    this.#offsets = offsets;
    const frames = parts instanceof Uint8Array ? [parts] : parts.frames;
    this.#frames = frames.length > 0 ? frames : [EMPTY];
    if (frames.length <= 1) return;
    const n = offsets.length - 1;
    const frameOf = new Uint32Array(n);
    const base: number[] = [0];
    for (let p = 0; p < frames.length; p++) base.push(base[p]! + frames[p]!.length);
    let p = 0;
    for (let i = 0; i < n; i++) {
      const start = offsets[i]!;
      const end = offsets[i + 1]!;
      // A value starts in the first frame that has bytes at its offset (frames may be empty).
      while (p < frames.length - 1 && start >= base[p + 1]! && end > start) p++;
      if (end > base[p + 1]!) throw new ProtocolError(`value ${i} straddles body frames ${p} and ${p + 1}`);
      frameOf[i] = p;
    }
    this.#frameOf = frameOf;
    this.#base = base;
  }

  frame(i: number): Uint8Array {
    return this.#frameOf ? this.#frames[this.#frameOf[i]!]! : this.#frames[0]!;
  }

  start(i: number): number {
    return this.#frameOf ? this.#offsets[i]! - this.#base![this.#frameOf[i]!]! : this.#offsets[i]!;
  }

  end(i: number): number {
    return this.#frameOf ? this.#offsets[i + 1]! - this.#base![this.#frameOf[i]!]! : this.#offsets[i + 1]!;
  }
}
