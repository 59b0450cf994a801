// Tasks waiting for their retry, earliest first (a binary heap on `retryAt`): the broker keeps one
// timer, for the earliest, however many wait. A waiting task holds no worker slot and no credit.
import { retryDelayFor } from "../wire/task-controls.js";
import type { Task } from "./records.js";

export class RetryWaits {
  readonly #heap: Task[] = [];
  /** Withdrawn tasks still in the heap (dropped when they come due). */
  #withdrawn = 0;

  /** Tasks waiting, withdrawn ones aside. */
  get size(): number {
    return this.#heap.length - this.#withdrawn;
  }

  /** A run of `task` failed at `now`: it waits for its delay (the failures so far set it). */
  retry(task: Task, now: number): void {
    task.failures++;
    task.worker = undefined;
    task.startedAt = 0;
    task.retryAt = now + retryDelayFor(task.controls, task.failures);
    this.add(task);
  }

  /** A waiting task was withdrawn (it stays in the heap until due, then is dropped). */
  withdrawn(): void {
    this.#withdrawn++;
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

  /** Takes the earliest task not withdrawn if it is due at `now` (its retryAt back to 0). */
  takeDue(now: number): Task | undefined {
    for (let task = this.#pop(now); task; task = this.#pop(now)) {
      task.retryAt = 0;
      if (!task.withdrawn) return task;
      this.#withdrawn--;
    }
    return undefined;
  }

  #pop(now: number): Task | undefined {
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
