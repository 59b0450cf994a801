// A message body assembled from byte ranges of other buffers, without copying what can be sent
// as a view (the broker forwards payloads it never decodes).

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

  /** The body, joined; the ranges are cleared. */
  take(): Uint8Array {
    const n = this.#buffers.length;
    let out: Uint8Array;
    if (n === 0) out = EMPTY;
    else if (n === 1) out = view(this.#buffers[0]!, this.#starts[0]!, this.#ends[0]!);
    else {
      const parts = new Array<Uint8Array>(n);
      let total = 0;
      for (let i = 0; i < n; i++) {
        parts[i] = view(this.#buffers[i]!, this.#starts[i]!, this.#ends[i]!);
        total += parts[i]!.length;
      }
      out = Buffer.concat(parts, total);
    }
    this.#buffers.length = 0;
    this.#starts.length = 0;
    this.#ends.length = 0;
    return out;
  }
}

export function view(buffer: Uint8Array, start: number, end: number): Uint8Array {
  return start === 0 && end === buffer.length ? buffer : buffer.subarray(start, end);
}
