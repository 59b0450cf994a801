/**
 * A map keyed by task sequence number, for the records every process keeps per task in flight.
 * Seqs are handed out one by one and finish roughly in order, so the keys in use at any time fall
 * in a narrow moving window: a ring indexed by `seq & mask` holds them with no hashing, and no
 * table that grows, shrinks or rehashes (and so allocates) as tasks come and go. A key whose slot
 * is taken by another key goes to a small Map instead: the ring doubles when it is half full, and
 * otherwise the older key of the two moves out (a straggler far behind the window).
 */
export class SeqMap<T> {
  #keys: Float64Array;
  #values: (T | undefined)[];
  #mask: number;
  #inRing = 0;
  readonly #spill = new Map<number, T>();
  readonly #maxCapacity: number;

  /** Capacities are rounded up to powers of two. */
  constructor(initialCapacity = 1024, maxCapacity = 1 << 16) {
    const capacity = powerOfTwoAtLeast(initialCapacity);
    this.#maxCapacity = Math.max(capacity, powerOfTwoAtLeast(maxCapacity));
    this.#keys = new Float64Array(capacity).fill(NaN);
    this.#values = new Array<T | undefined>(capacity).fill(undefined);
    this.#mask = capacity - 1;
  }

  get size(): number {
    return this.#inRing + this.#spill.size;
  }

  /** Slots in the ring. */
  get capacity(): number {
    return this.#mask + 1;
  }

  /** Keys kept outside the ring (stragglers). */
  get spilled(): number {
    return this.#spill.size;
  }

  get(seq: number): T | undefined {
    const i = seq & this.#mask;
    if (this.#keys[i] === seq) return this.#values[i];
    return this.#spill.size === 0 ? undefined : this.#spill.get(seq);
  }

  has(seq: number): boolean {
    return this.#keys[seq & this.#mask] === seq || (this.#spill.size > 0 && this.#spill.has(seq));
  }

  set(seq: number, value: T): void {
    const i = seq & this.#mask;
    const occupant = this.#keys[i]!;
    if (occupant === seq) {
      this.#values[i] = value;
      return;
    }
    if (this.#spill.size > 0 && this.#spill.has(seq)) {
      this.#spill.set(seq, value);
      return;
    }
    if (Number.isNaN(occupant)) {
      this.#keys[i] = seq;
      this.#values[i] = value;
      this.#inRing++;
      return;
    }
    if (this.#inRing >= (this.#mask + 1) >>> 1 && this.#mask + 1 < this.#maxCapacity) {
      this.#grow();
      this.set(seq, value);
      return;
    }
    // Keep the newer key in the ring: the older one is the straggler.
    if (seq < occupant) {
      this.#spill.set(seq, value);
      return;
    }
    this.#spill.set(occupant, this.#values[i]!);
    this.#keys[i] = seq;
    this.#values[i] = value;
  }

  delete(seq: number): boolean {
    const i = seq & this.#mask;
    if (this.#keys[i] === seq) {
      this.#keys[i] = NaN;
      this.#values[i] = undefined;
      this.#inRing--;
      return true;
    }
    return this.#spill.size > 0 && this.#spill.delete(seq);
  }

  /** The values, in seq order (a copy: for the rare paths that visit every task). */
  values(): T[] {
    return this.#entries().map((e) => e[1]);
  }

  /** The keys, in order. */
  keys(): number[] {
    return this.#entries().map((e) => e[0]);
  }

  #entries(): [number, T][] {
    const entries: [number, T][] = [...this.#spill];
    for (let i = 0; i <= this.#mask; i++) if (!Number.isNaN(this.#keys[i]!)) entries.push([this.#keys[i]!, this.#values[i]!]);
    return entries.sort((a, b) => a[0] - b[0]);
  }

  clear(): void {
    this.#keys.fill(NaN);
    this.#values.fill(undefined);
    this.#inRing = 0;
    this.#spill.clear();
  }

  #grow(): void {
    const keys = this.#keys;
    const values = this.#values;
    const capacity = (this.#mask + 1) * 2;
    this.#keys = new Float64Array(capacity).fill(NaN);
    this.#values = new Array<T | undefined>(capacity).fill(undefined);
    this.#mask = capacity - 1;
    // Keys that differed in their low bits still differ in more of them: no collisions here.
    for (let i = 0; i < keys.length; i++) {
      const seq = keys[i]!;
      if (Number.isNaN(seq)) continue;
      this.#keys[seq & this.#mask] = seq;
      this.#values[seq & this.#mask] = values[i];
    }
  }
}

function powerOfTwoAtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
