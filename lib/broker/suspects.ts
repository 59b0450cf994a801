// Suspects: tasks whose next death would fail them (they were on workers that died, and one of them
// may be what killed them), waiting to run alone on an idle worker, so that a death there is their
// own and an innocent task is never failed for a neighbour's crash. Apart from the ordinary queue,
// so that they do not hold ordinary tasks back, and ahead of any priority. With the default
// maxAttempts (3), a task becomes a suspect only after two deaths: a worker killed from outside
// makes no suspects, only a task that kills workers again and again does (with the tasks that
// shared its workers twice).
import { Deque } from "../shared/ring.js";
import type { Task, WorkerSlot } from "./records.js";

/**
 * Suspects wait and no worker is idle: the least busy one is drained (it gets no new ordinary task)
 * so that one soon is. Returns whether one was newly set draining (none if one is already).
 */
export function drainOne(workers: Iterable<WorkerSlot>): boolean {
  let draining: WorkerSlot | undefined;
  for (const w of workers) {
    if (w.draining) return false; // one is on its way to idle already
    if (!w.isolated && (!draining || w.inFlight.size < draining.inFlight.size)) draining = w;
  }
  if (draining) draining.draining = true;
  return draining !== undefined;
}

export class Suspects {
  readonly #maxAttempts: number;
  readonly #queue = new Deque<Task>(64);
  /** Withdrawn tasks still in #queue (dropped when they reach its head). */
  #withdrawn = 0;
  /** Some worker is draining for suspects. */
  #draining = false;

  constructor(maxAttempts: number) {
    this.#maxAttempts = maxAttempts;
  }

  /** Suspects waiting, withdrawn ones aside. */
  get size(): number {
    return this.#queue.size - this.#withdrawn;
  }

  /** Whether any entry waits, withdrawn or not. */
  get any(): boolean {
    return this.#queue.size > 0;
  }

  /** Whether this task, queued again, must run alone. */
  isSuspect(task: Task): boolean {
    return task.deaths > 0 && task.deaths >= this.#maxAttempts - 1;
  }

  unshift(task: Task): void {
    this.#queue.unshift(task);
  }

  /** A waiting suspect was withdrawn. */
  withdrawn(): void {
    this.#withdrawn++;
  }

  /** The next suspect not withdrawn. */
  next(): Task | undefined {
    for (let task = this.#queue.shift(); task; task = this.#queue.shift()) {
      if (!task.withdrawn) return task;
      this.#withdrawn--;
    }
    return undefined;
  }

  /**
   * One round of dispatch for suspects, before ordinary tasks: each idle worker (credit, nothing in
   * flight, not planned yet) takes one suspect to run alone, within `budget()`; with none idle, one
   * worker is drained; with no suspect left, draining stops.
   */
  dispatch(workers: ReadonlyMap<string, WorkerSlot>, planned: (w: WorkerSlot) => boolean, budget: () => number, assign: (w: WorkerSlot, task: Task) => void): void {
    if (!this.any) {
      if (this.#draining) this.#stopDraining(workers);
      return;
    }
    let idle = false;
    for (const w of workers.values()) {
      if (budget() <= 0) break;
      if (w.credit === 0 || w.isolated || w.inFlight.size > 0 || planned(w)) continue;
      const task = this.next();
      if (!task) break;
      w.isolated = true;
      assign(w, task);
      idle = true;
    }
    if (this.size === 0) {
      this.#stopDraining(workers);
      return;
    }
    if (!idle && drainOne(workers.values())) this.#draining = true;
  }

  #stopDraining(workers: ReadonlyMap<string, WorkerSlot>): void {
    for (const w of workers.values()) w.draining = false;
    this.#draining = false;
  }
}
