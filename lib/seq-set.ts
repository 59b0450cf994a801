/**
 * A set of finished task sequence numbers that stays small on endless streams: every seq below
 * `watermark` is in the set, and only the finished seqs above it are stored one by one. Seqs are
 * handed out in increasing order and finish roughly in order, so the stored exceptions stay
 * bounded by the number of tasks in flight, not by the number of tasks ever run.
 */
export class SeqSet {
  #watermark: number;
  #above = new Set<number>();

  /** `start`: the first seq this set will see (everything below counts as absent, not present). */
  constructor(start = 0) {
    this.#watermark = start;
    this.#floor = start;
  }

  readonly #floor: number;

  add(seq: number): void {
    if (seq < this.#watermark) return;
    if (seq !== this.#watermark) {
      this.#above.add(seq);
      return;
    }
    this.#watermark++;
    while (this.#above.size > 0 && this.#above.delete(this.#watermark)) this.#watermark++;
  }

  has(seq: number): boolean {
    return (seq < this.#watermark && seq >= this.#floor) || this.#above.has(seq);
  }

  /** All seqs below this are in the set. */
  get watermark(): number {
    return this.#watermark;
  }

  /** How many seqs are stored individually (memory use). */
  get exceptions(): number {
    return this.#above.size;
  }
}
