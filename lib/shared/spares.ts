// Records kept for reuse: a process that handles a million tasks a second should not make a
// million objects for its collector. Each process keeps the records of finished tasks here (the
// caller's PendingTask, the broker's Task, the worker's HeldTask) and renews one instead of
// allocating, up to a bound.

export class Spares<T> {
  readonly #items: T[] = [];
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** A spare record, or undefined when none is kept. */
  take(): T | undefined {
    return this.#items.pop();
  }

  /** Keeps a record nothing refers to any more; returns false (it is dropped) when full. */
  give(item: T): boolean {
    if (this.#items.length >= this.#capacity) return false;
    this.#items.push(item);
    return true;
  }

  /** Whether a give() now would keep the record. */
  get hasRoom(): boolean {
    return this.#items.length < this.#capacity;
  }
}
