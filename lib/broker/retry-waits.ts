// Tasks waiting for their retry, earliest first (a binary heap on `retryAt`): the broker keeps one
// timer, for the earliest, however many wait. A waiting task holds no worker slot and no credit.
import type { Task } from "./records.js";

export class RetryWaits {
  readonly #heap: Task[] = [];

  get size(): number {
    return this.#heap.length;
  }

  /** When the earliest waiting task may run again, or undefined when none waits. */
  get next(): number | undefined {
    return this.#heap[0]?.retryAt;
  }

  add(task: Task): void {
    const heap = this.#heap;
    heap.push(task);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.retryAt <= task.retryAt) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = task;
  }

  /** Takes the earliest task if it is due at `now`. */
  takeDue(now: number): Task | undefined {
    const heap = this.#heap;
    const top = heap[0];
    if (!top || top.retryAt > now) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && heap[right]!.retryAt < heap[left]!.retryAt ? right : left;
        if (heap[child]!.retryAt >= last.retryAt) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
