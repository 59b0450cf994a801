// The last bytes a child process wrote to standard error: kept so that a WorkerExitError can show
// what a worker said before it died (a native crash's stack, an out-of-memory message), while every
// byte still goes on to the caller's own stderr.

/** How much of a worker's stderr a WorkerExitError carries. */
export const STDERR_TAIL_BYTES = 4096;

/** The last `capacity` bytes of a stream of chunks; older bytes are dropped as new ones come. */
export class StderrTail {
  readonly #capacity: number;
  #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(capacity = STDERR_TAIL_BYTES) {
    this.#capacity = capacity;
  }

  push(chunk: Buffer): void {
    if (chunk.length >= this.#capacity) {
      this.#chunks = [chunk.subarray(chunk.length - this.#capacity)];
      this.#bytes = this.#capacity;
      return;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    while (this.#bytes - this.#chunks[0]!.length >= this.#capacity) this.#bytes -= this.#chunks.shift()!.length;
  }

  /** The tail as text (a character cut in half at the start is dropped, not shown as garbage). */
  text(): string {
    let tail = Buffer.concat(this.#chunks, this.#bytes);
    if (tail.length > this.#capacity) tail = tail.subarray(tail.length - this.#capacity);
    // Skip UTF-8 continuation bytes (10xxxxxx) the cut left at the start.
    let start = 0;
    while (start < tail.length && start < 4 && (tail[start]! & 0xc0) === 0x80) start++;
    return tail.subarray(start).toString("utf8");
  }
}
