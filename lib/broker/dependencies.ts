// `after`, at the broker: which tasks wait for which, release when a dependency succeeds, failure
// when one fails, and dependencies that have not arrived yet (after a reconnect or a broker
// restart, tasks do not arrive in the order they were sent). The scheduler owns the tasks; this
// keeps the links between them.
import { BoundedMap } from "../shared/bounded-map.js";
import type { Task } from "./records.js";

/** A task that failed without running because `because` (a dependency) did not succeed. */
export interface DependencyFailure {
  task: Task;
  because: Task | number;
}

/**
 * Failed seqs remembered (with their ids, for messages) so that a task whose Submit was on its way
 * while its dependency failed still fails. The caller itself fails a task whose dependency it knows
 * has failed, so this covers only that short race.
 */
const FAILED_MEMORY = 100_000;

/** What the dependencies need of the scheduler's tasks. */
export interface TaskTable {
  /** The task with this seq, if held (not finished). */
  get(seq: number): Task | undefined;
  isFinished(seq: number): boolean;
  /** A task whose dependencies have all succeeded goes to the front of the queue. */
  release(task: Task): void;
  /** A task fails without running (its dependency failed): finish it. */
  fail(task: Task): void;
}

export class Dependencies {
  readonly #tasks: TaskTable;
  /** Failed seqs (and their ids), bounded: see FAILED_MEMORY. */
  readonly #failed = new BoundedMap<number, string>(FAILED_MEMORY);
  /**
   * Tasks waiting for a dependency that has not arrived yet, by its seq. The caller names in
   * `after` only tasks it has submitted and not seen finish, so each of these is on its way.
   */
  readonly #awaited = new Map<number, Task[]>();
  #failures: DependencyFailure[] = [];
  /** Tasks waiting on dependencies. */
  waiting = 0;

  constructor(tasks: TaskTable) {
    this.#tasks = tasks;
  }

  /**
   * Links a new task to the tasks it runs `after`, and to tasks already waiting for it. Returns
   * false if a dependency has failed: the task is then recorded as a failure (the scheduler
   * finishes it). Otherwise the task waits (`waitingOn` > 0, counted in `waiting`) or is ready.
   */
  link(task: Task, after: readonly number[] | undefined): boolean {
    if (after) {
      for (const dep of after) {
        const parent = this.#tasks.get(dep);
        if (parent) {
          (parent.dependents ??= []).push(task);
          task.waitingOn++;
        } else if (this.#failed.has(dep)) {
          this.#unlink(task, after);
          this.#failures.push({ task, because: dep });
          return false;
        } else if (!this.#tasks.isFinished(dep)) {
          const list = this.#awaited.get(dep);
          if (list) list.push(task);
          else this.#awaited.set(dep, [task]);
          task.waitingOn++;
        }
      }
    }
    const awaiting = this.#awaited.get(task.seq);
    if (awaiting) {
      this.#awaited.delete(task.seq);
      (task.dependents ??= []).push(...awaiting);
    }
    if (task.waitingOn > 0) this.waiting++;
    return true;
  }

  /** A waiting task was withdrawn. */
  withdrawn(task: Task): void {
    if (task.waitingOn > 0) this.waiting--;
  }

  /** A task's outcome is final: its dependents are released, or fail (and theirs) if it failed. */
  finished(task: Task, ok: boolean): void {
    if (!ok) this.#failed.set(task.seq, task.id);
    const dependents = task.dependents;
    if (!dependents) return;
    task.dependents = undefined;
    for (const child of dependents) {
      if (!this.#tasks.get(child.seq)) continue; // already failed through another parent
      if (ok) {
        if (--child.waitingOn === 0) {
          this.waiting--;
          this.#tasks.release(child);
        }
      } else {
        this.waiting--;
        this.#failures.push({ task: child, because: task });
        this.#tasks.fail(child);
      }
    }
  }

  /** `seq` will not arrive (withdrawn, or not outstanding): tasks awaiting it fail. */
  neverArrives(seq: number): void {
    const waiting = this.#awaited.get(seq);
    if (!waiting) return;
    this.#awaited.delete(seq);
    this.#failed.set(seq, "");
    for (const child of waiting) {
      if (!this.#tasks.get(child.seq)) continue;
      this.waiting--;
      this.#failures.push({ task: child, because: seq });
      this.#tasks.fail(child);
    }
  }

  /**
   * The caller no longer has these seqs outstanding, so tasks still waiting for them to arrive wait
   * in vain: they fail as if the dependency had failed (the caller knows its outcome and has
   * re-sent, or failed, those dependents itself). Called after a reconnect.
   */
  forgetAwaitedExcept(outstanding: ReadonlySet<number>): void {
    for (const seq of [...this.#awaited.keys()]) if (!outstanding.has(seq)) this.neverArrives(seq);
  }

  /** Tasks failed because a dependency did not succeed, since the last call. */
  takeFailures(): DependencyFailure[] {
    const out = this.#failures;
    if (out.length > 0) this.#failures = [];
    return out;
  }

  /** The id (or "" for a generated one) of a failed seq still remembered. */
  failedId(seq: number): string | undefined {
    return this.#failed.get(seq);
  }

  #unlink(task: Task, after: readonly number[]): void {
    for (const dep of after) {
      const list = this.#tasks.get(dep)?.dependents ?? this.#awaited.get(dep);
      const at = list ? list.indexOf(task) : -1;
      if (at >= 0) list!.splice(at, 1);
    }
    task.waitingOn = 0;
  }
}
