// The worker's concurrency limit: at most `limit` tasks hold a slot at once; the others wait in
// arrival order. It replaces p-queue, which costs a promise, an async function and closures per
// task (1.9 KB of the workers' 4.1 KB allocated per task under W6, `node bench/alloc.js`): here
// `start` says whether the task took a slot (its handler returned a promise), and the runtime
// calls `release()` once, when that task settles or times out.
import { Deque } from "./ring.js";

export class Slots<T> {
  readonly #limit: number;
  readonly #start: (item: T) => boolean;
  readonly #waiting = new Deque<T>(64);
  #busy = 0;
  #idleWaiters: (() => void)[] = [];

  /** `start(item)` runs an item and returns true if it now holds a slot until `release()`. */
  constructor(limit: number, start: (item: T) => boolean) {
    this.#limit = limit;
    this.#start = start;
  }

  /** Items holding a slot. */
  get busy(): number {
    return this.#busy;
  }

  /** Items waiting for a slot. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Starts the item now if a slot is free and none waits before it; else queues it. */
  add(item: T): void {
    if (this.#waiting.size > 0 || this.#busy >= this.#limit) this.#waiting.push(item);
    else if (this.#start(item)) this.#busy++;
  }

  /** A slot is free again: start the waiting items it (and any that end at once) makes room for. */
  release(): void {
    this.#busy--;
    while (this.#busy < this.#limit && this.#waiting.size > 0) {
      if (this.#start(this.#waiting.shift() as T)) this.#busy++;
    }
    if (this.#busy === 0 && this.#waiting.size === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Forgets the waiting items (they are not started); those holding a slot are not affected. */
  clear(): void {
    while (this.#waiting.size > 0) this.#waiting.shift();
  }

  /** Resolves once no item holds a slot or waits for one. */
  onIdle(): Promise<void> {
    if (this.#busy === 0 && this.#waiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }
}
