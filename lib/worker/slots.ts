// The worker's concurrency limit: at most `limit` tasks hold a slot at once; the others wait in
// arrival order. It replaces p-queue, which costs a promise, an async function and closures per
// task (1.9 KB of the workers' 4.1 KB allocated per task under W6, `node bench/alloc.js`): here
// `start` says whether the task took a slot (its handler returned a promise), and the runtime
// calls `release()` once, when that task settles or times out. `start` may also say "not now"
// (LATER): the item stays first in line until `resume()`, which lets the runtime end a long
// synchronous run to read its socket (a Cancel may be waiting) or send what it must first.

/** What `start(item)` says: it holds a slot (true), it is done (false), or not now (LATER). */
export const LATER = 2;
export type StartOutcome = boolean | typeof LATER;

import { Deque } from "../shared/ring.js";
import { Waiters } from "../shared/waiters.js";

export class Slots<T> {
  readonly #limit: number;
  readonly #start: (item: T) => StartOutcome;
  readonly #waiting = new Deque<T>(64);
  #busy = 0;
  #starting = false;
  readonly #idle = new Waiters();

  /** `start(item)` runs an item and says whether it now holds a slot until `release()`, or LATER. */
  constructor(limit: number, start: (item: T) => StartOutcome) {
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

  /** Queues the item, and starts it now if a slot is free and none waits before it. */
  add(item: T): void {
    this.#waiting.push(item);
    this.resume();
  }

  /** A slot is free again: start the waiting items it (and any that end at once) makes room for. */
  release(): void {
    this.#busy--;
    this.resume();
  }

  /** Starts waiting items while slots are free, until one says LATER. */
  resume(): void {
    if (this.#starting) return; // a start() further up the stack goes on with the loop
    this.#starting = true;
    try {
      while (this.#busy < this.#limit && this.#waiting.size > 0) {
        const outcome = this.#start(this.#waiting.peek() as T);
        if (outcome === LATER) break;
        this.#waiting.shift();
        if (outcome) this.#busy++;
      }
    } finally {
      this.#starting = false;
    }
    if (this.#busy === 0 && this.#waiting.size === 0) this.#idle.wake();
  }

  /** Forgets the waiting items (they are not started); those holding a slot are not affected. */
  clear(): void {
    while (this.#waiting.size > 0) this.#waiting.shift();
    this.resume(); // wakes onIdle() waiters if nothing holds a slot
  }

  /** Resolves once no item holds a slot or waits for one. */
  onIdle(): Promise<void> {
    return this.#idle.until(this.#busy === 0 && this.#waiting.size === 0);
  }
}
