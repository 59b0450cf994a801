// A Map that remembers at most `capacity` entries: past it, the oldest entry (in insertion order)
// is forgotten. For memories that must not grow with the number of tasks ever run: finished ids,
// failed seqs, how child processes ended.

export class BoundedMap<K, V> extends Map<K, V> {
  readonly #capacity: number;
  readonly #onEvict: ((key: K, value: V) => void) | undefined;

  /** `onEvict` hears of each entry forgotten for room (not of delete() or clear()). */
  constructor(capacity: number, onEvict?: (key: K, value: V) => void) {
    super();
    this.#capacity = capacity;
    this.#onEvict = onEvict;
  }

  /** Sets the entry; a new key goes last (a key set again keeps its place) and may evict the oldest. */
  override set(key: K, value: V): this {
    super.set(key, value);
    if (this.size > this.#capacity) {
      const [oldest, old] = this.entries().next().value as [K, V];
      super.delete(oldest);
      this.#onEvict?.(oldest, old);
    }
    return this;
  }

  /** Sets the entry as the newest, even if the key was there (it moves last). */
  touch(key: K, value: V): this {
    super.delete(key);
    return this.set(key, value);
  }
}
