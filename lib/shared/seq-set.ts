/**
 * A set of finished task sequence numbers that stays small on endless streams: every seq below
 * `watermark` is in the set, and only the finished seqs above it are stored one by one. Seqs are
 * handed out in increasing order and finish roughly in order, so the stored exceptions stay
 * bounded by the number of tasks in flight, not by the number of tasks ever run.
 *
 * The exceptions are bits in a ring indexed by `seq & mask`, valid for the seqs from the watermark
 * up to the ring's capacity: no hash table that grows, shrinks and rehashes (allocating) as tasks
 * finish out of order, which every task of two or more workers does. The ring doubles to reach a
 * seq further ahead, up to MAX_RING_BITS; seqs further still (a task stuck while a million later
 * ones finish) go to a Set.
 */
export class SeqSet {
  #watermark: number;
  readonly #floor: number;
  #bits = new Int32Array(MIN_RING_BITS >>> 5);
  #mask = MIN_RING_BITS - 1;
  /** Bits set in the ring. */
  #inRing = 0;
  readonly #far = new Set<number>();

  /** `start`: the first seq this set will see (everything below counts as absent, not present). */
  constructor(start = 0) {
    this.#watermark = start;
    this.#floor = start;
  }

  add(seq: number): void {
    const distance = seq - this.#watermark;
    if (distance < 0) return;
    if (distance === 0) return this.#advance();
    if (distance > this.#mask && !this.#grow(distance)) {
      this.#far.add(seq);
      return;
    }
    const i = seq & this.#mask;
    if (!hasBit(this.#bits, i)) {
      setBit(this.#bits, i);
      this.#inRing++;
    }
  }

  has(seq: number): boolean {
    const distance = seq - this.#watermark;
    if (distance < 0) return seq >= this.#floor;
    if (distance <= this.#mask && this.#inRing > 0 && hasBit(this.#bits, seq & this.#mask)) return true;
    return this.#far.size > 0 && this.#far.has(seq);
  }

  /** All seqs below this are in the set. */
  get watermark(): number {
    return this.#watermark;
  }

  /** How many seqs are stored individually (memory use). */
  get exceptions(): number {
    return this.#inRing + this.#far.size;
  }

  /** The watermark's own seq arrived: move past it and every stored seq that follows it. */
  #advance(): void {
    let w = this.#watermark + 1;
    for (;;) {
      if (this.#inRing > 0 && hasBit(this.#bits, w & this.#mask)) {
        clearBit(this.#bits, w & this.#mask);
        this.#inRing--;
      } else if (!(this.#far.size > 0 && this.#far.delete(w))) break;
      w++;
    }
    this.#watermark = w;
  }

  /** Makes the ring reach `distance` past the watermark; false if that is past MAX_RING_BITS. */
  #grow(distance: number): boolean {
    if (distance >= MAX_RING_BITS) return false;
    let capacity = this.#mask + 1;
    while (capacity <= distance) capacity *= 2;
    const bits = new Int32Array(capacity >>> 5);
    const mask = capacity - 1;
    for (let seq = this.#watermark, end = seq + this.#mask + 1; seq < end && this.#inRing > 0; seq++) {
      if (hasBit(this.#bits, seq & this.#mask)) setBit(bits, seq & mask);
    }
    this.#bits = bits;
    this.#mask = mask;
    return true;
  }
}

/** Ring sizes in bits (powers of two): 1 KiB to start, 128 KiB at most. */
const MIN_RING_BITS = 8192;
const MAX_RING_BITS = 1 << 20;

const hasBit = (bits: Int32Array, i: number): boolean => (bits[i >>> 5]! & (1 << (i & 31))) !== 0;
const setBit = (bits: Int32Array, i: number): void => void (bits[i >>> 5]! |= 1 << (i & 31));
const clearBit = (bits: Int32Array, i: number): void => void (bits[i >>> 5]! &= ~(1 << (i & 31)));
