// A message body assembled from byte ranges of other buffers, without copying what can be sent
// as a view (the broker forwards payloads it never decodes).

import { LARGE_VALUE } from "./body-writer.js";

export const EMPTY = new Uint8Array(0);

/**
 * A message body made of byte ranges of other buffers (results of several worker messages on their
 * way to the caller). A range that continues the previous one in the same buffer extends it as it
 * is added, so no view is made per value; `take()` joins what is left (one range: a view, no copy).
 */
export class BodyRanges {
  readonly #buffers: Uint8Array[] = [];
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];

  add(buffer: Uint8Array, start: number, end: number): void {
    const last = this.#buffers.length - 1;
    if (last >= 0 && this.#buffers[last] === buffer && this.#ends[last] === start) {
      this.#ends[last] = end;
      return;
    }
    this.#buffers.push(buffer);
    this.#starts.push(start);
    this.#ends.push(end);
  }

  /**
   * The body as frames, for a peer that reads bodies of several frames (body-parts.ts): a range of
   * LARGE_VALUE bytes or more goes as a view of its buffer, never copied; the runs of smaller ranges
   * between such ranges are joined, each into one frame. The ranges are cleared.
   */
  takeFrames(): Uint8Array[] {
    const n = this.#buffers.length;
    const frames: Uint8Array[] = [];
    let runFrom = 0;
    for (let i = 0; i <= n; i++) {
      if (i < n && this.#ends[i]! - this.#starts[i]! < LARGE_VALUE) continue;
      // Ranges runFrom..i-1 are small: joined (a view when there is one); range i goes as it is.
      if (i > runFrom) frames.push(this.#join(runFrom, i));
      if (i < n) frames.push(view(this.#buffers[i]!, this.#starts[i]!, this.#ends[i]!));
      runFrom = i + 1;
    }
    this.#clear();
    return frames;
  }

  /** The body, joined; the ranges are cleared. */
  take(): Uint8Array {
    const out = this.#buffers.length === 0 ? EMPTY : this.#join(0, this.#buffers.length);
    this.#clear();
    return out;
  }

  /** Ranges [from, to) joined: a view for one range, else a copy of them all. */
  #join(from: number, to: number): Uint8Array {
    if (to - from === 1) return view(this.#buffers[from]!, this.#starts[from]!, this.#ends[from]!);
    const parts = new Array<Uint8Array>(to - from);
    let total = 0;
    for (let i = from; i < to; i++) {
      parts[i - from] = view(this.#buffers[i]!, this.#starts[i]!, this.#ends[i]!);
      total += parts[i - from]!.length;
    }
    return Buffer.concat(parts, total);
  }

  #clear(): void {
    this.#buffers.length = 0;
    this.#starts.length = 0;
    this.#ends.length = 0;
  }
}

export function view(buffer: Uint8Array, start: number, end: number): Uint8Array {
  return start === 0 && end === buffer.length ? buffer : buffer.subarray(start, end);
}
