// The broker's decisions, without sockets or clocks: which worker gets which task, what happens
// to a dead worker's tasks, which results count. The broker feeds it events and carries out what
// it returns; test/scheduler.test.js drives it directly.
import { SeqMap } from "../shared/seq-map.js";
import { SeqSet } from "../shared/seq-set.js";
import { Dependencies, type DependencyFailure } from "./dependencies.js";
import { Hedger } from "./hedge.js";
import { findStuck, type Wedged } from "./stuck.js";
import type { Task, WorkerSlot } from "./records.js";
import { RetryWaits } from "./retry-waits.js";
import { Suspects } from "./suspects.js";
import { TaskQueue } from "./task-queue.js";

/** Pipeline jobs get seqs from here up, apart from the caller's seqs (which start at 0). */
export const JOB_SEQ_BASE = 2 ** 48;


export interface Dispatch {
  worker: WorkerSlot;
  tasks: Task[];
}

/**
 * A result the scheduler does not take: "withdrawn", the caller no longer wants it; "duplicate",
 * finished already (a late result from a worker presumed dead); "not-held", the worker does not
 * hold that task (a protocol violation); "retrying", the run failed and the task runs again after
 * its retry delay (the failure is not its outcome).
 */
export type Rejection = "withdrawn" | "duplicate" | "not-held" | "hedge-lost" | "retrying";

export interface SchedulerOptions {
  /** Runs of one task whose worker died before the task fails. */
  maxAttempts: number;
}

export class Scheduler {
  readonly #maxAttempts: number;
  readonly #tasks = new SeqMap<Task>(4096, 1 << 18);
  /** Ordinary tasks waiting for a worker, by priority. */
  readonly #queue = new TaskQueue();
  /** Tasks whose handler failed, waiting for their retry (outside the queue, using no credit). */
  readonly #retryWaits = new RetryWaits();
  /** Tasks that run alone after worker deaths (suspects.ts). */
  readonly #suspects: Suspects;
  readonly #workers = new Map<string, WorkerSlot>();
  readonly #finished = new SeqSet();
  #nextJobSeq = JOB_SEQ_BASE;
  readonly #dependencies = new Dependencies({
    get: (seq) => this.#tasks.get(seq),
    isFinished: (seq) => this.isFinished(seq),
    release: (task) => this.#queue.unshift(task),
    fail: (task) => this.#finish(task, false),
  });
  #withdrawnInQueue = 0;
  #nextIndex = 0;
  #rotation = 0;
  #dispatches = 0;
  /** Tasks the current dispatch() may still hand out (a rate limit's allowance). */
  #budget = Infinity;

  /** Runs repeated after a worker died (a death counted). */
  retried = 0;
  readonly #hedge = new Hedger();
  /** Runs repeated after the handler threw, rejected or timed out (the task's `retries`). */
  retriedErrors = 0;

  constructor(options: SchedulerOptions) {
    this.#maxAttempts = options.maxAttempts;
    this.#suspects = new Suspects(options.maxAttempts);
  }

  get queued(): number {
    return this.#queue.size - this.#withdrawnInQueue + this.#suspects.size;
  }

  /** Tasks waiting for their retry delay to pass. */
  get retrying(): number {
    return this.#retryWaits.size;
  }

  /** When the earliest task waiting for its retry may run, or undefined. */
  get nextRetryAt(): number | undefined {
    return this.#retryWaits.next;
  }

  /** Tasks whose retry delay has passed at `now` join the queue, behind those of their priority. */
  releaseRetries(now: number): void {
    for (let task = this.#retryWaits.takeDue(now); task; task = this.#retryWaits.takeDue(now)) this.#queue.push(task);
  }

  /** Tasks waiting on dependencies. */
  get waiting(): number {
    return this.#dependencies.waiting;
  }

  get inFlight(): number {
    let n = 0;
    for (const w of this.#workers.values()) n += w.inFlight.size;
    return n;
  }

  get workers(): IterableIterator<WorkerSlot> {
    return this.#workers.values();
  }

  /** Every task not finished (queued, waiting, dispatched), pipeline jobs included: a copy. */
  tasks(): Task[] {
    return this.#tasks.values();
  }

  worker(key: string): WorkerSlot | undefined {
    return this.#workers.get(key);
  }

  addWorker(key: string, concurrency = 1, now = 0): WorkerSlot {
    const existing = this.#workers.get(key);
    if (existing) return existing;
    const slot: WorkerSlot = {
      key, index: this.#nextIndex++, credit: 0, inFlight: new SeqMap<Task>(64), done: 0, isolated: false, draining: false, concurrency,
      lastHeard: now, timed: 0,
    };
    this.#workers.set(key, slot);
    return slot;
  }

  /** The worker has room for `n` more tasks. */
  grant(key: string, n: number): void {
    const w = this.#workers.get(key);
    if (w && n > 0) w.credit += n;
  }

  /**
   * A new task. Returns false (and ignores it) if that seq is held, or finished (unless `rerun`: the
   * caller lost its result and sends it again). With `after`, the task waits until those seqs have
   * succeeded; if one has failed, the task fails at once and shows up in takeDependencyFailures().
   * With `first`, it is queued ahead of the rest (a pipeline job whose parents just finished: an
   * item's work is finished before new items start).
   */
  submit(task: Task, after?: readonly number[], first = false, rerun = false): boolean {
    if (task.seq >= JOB_SEQ_BASE) {
      if (task.seq < this.#nextJobSeq) return false;
      this.#nextJobSeq = task.seq + 1;
    } else if (this.#tasks.has(task.seq) || (!rerun && this.#finished.has(task.seq))) return false;
    this.#tasks.set(task.seq, task);
    if (task.hedgeGroup > 0) this.#hedge.active = true;
    if (!this.#dependencies.link(task, after)) {
      this.#finish(task, false);
      return true;
    }
    if (task.waitingOn > 0) return true;
    if (first) this.#queue.unshift(task);
    else this.#queue.push(task);
    return true;
  }

  /** Tasks waiting for seqs the caller no longer has outstanding fail (after a reconnect). */
  forgetAwaitedExcept(outstanding: ReadonlySet<number>): void {
    this.#dependencies.forgetAwaitedExcept(outstanding);
  }

  /** Tasks failed because a dependency did not succeed, since the last call. */
  takeDependencyFailures(): DependencyFailure[] {
    return this.#dependencies.takeFailures();
  }

  /** The id (or "" for a generated one) of a failed seq still remembered. */
  failedId(seq: number): string | undefined {
    return this.#dependencies.failedId(seq);
  }

  /**
   * Whether this seq has finished (succeeded, failed or been withdrawn). Pipeline job seqs are the
   * broker's own and never submitted twice, so for them finished means handed out and no longer
   * held: no set to keep (they finish far out of order, which would make a watermark churn).
   */
  /** Runs a held task has taken so far (each death, each failure retried). */
  runsOf(seq: number): number {
    const task = this.#tasks.get(seq);
    return task ? task.deaths + task.failures : 0;
  }

  isFinished(seq: number): boolean {
    if (seq >= JOB_SEQ_BASE) return seq < this.#nextJobSeq && !this.#tasks.has(seq);
    return this.#finished.has(seq);
  }

  /** Something arrived from this worker. */
  heard(key: string, now: number): void {
    const w = this.#workers.get(key);
    if (w) w.lastHeard = now;
  }

  /** The worker announced that it started these (timed) tasks. */
  started(key: string, seqs: readonly number[], now: number): void {
    const w = this.#workers.get(key);
    if (!w) return;
    for (const seq of seqs) {
      const task = w.inFlight.get(seq);
      if (task) task.startedAt = now;
    }
  }

  /**
   * A worker reports a task finished; `ok` says whether it succeeded (its dependents may run).
   * Returns the task if the result is accepted (no object per result: this is the hot path).
   * `retryFrom` (the clock now) says the failure may be retried: a task with retries left then
   * waits for its delay (see retryDelayFor) instead of finishing, and "retrying" is returned.
   */
  /**
   * A result from worker `key`. `mayRetry`: the handler failed in a way its task's `retries` may
   * answer (it threw, rejected or timed out, and did not say `retryable: false`).
   */
  result(key: string, seq: number, ok = true, now = 0, mayRetry = false): Task | Rejection {
    const w = this.#workers.get(key);
    const task = w?.inFlight.get(seq);
    if (!w || !task) return this.isFinished(seq) ? "duplicate" : "not-held";
    w.inFlight.delete(seq);
    if (task.timeout > 0) w.timed--;
    w.done++;
    if (w.isolated && w.inFlight.size === 0) w.isolated = false;
    if (task.hedgeGroup > 0 && this.#hedge.finished(w, task, now) === "lost") return "hedge-lost";
    if (!ok && mayRetry && !task.withdrawn && task.failures < task.controls.retries) {
      this.#retryWaits.retry(task, now);
      this.retriedErrors++;
      return "retrying";
    }
    this.#finish(task, ok && !task.withdrawn);
    return task.withdrawn ? "withdrawn" : task;
  }

  /**
   * The caller no longer wants these tasks. Queued ones are dropped; for running ones the result
   * tells which worker to send a Cancel to.
   */
  withdraw(seqs: Iterable<number>, now = 0): Map<WorkerSlot, number[]> {
    const running = new Map<WorkerSlot, number[]>();
    for (const seq of seqs) {
      const task = this.#tasks.get(seq);
      if (!task) {
        this.#dependencies.neverArrives(seq);
        continue;
      }
      if (task.withdrawn) continue;
      task.withdrawn = true;
      if (task.worker) {
        task.cancelledAt = now;
        for (const holder of task.hedgeTwin ? [task.worker, task.hedgeTwin] : [task.worker]) {
          const list = running.get(holder) ?? [];
          list.push(seq);
          running.set(holder, list);
        }
      } else {
        if (task.waitingOn > 0) this.#dependencies.withdrawn(task);
        else if (task.retryAt > 0) this.#retryWaits.withdrawn();
        else if (this.#suspects.isSuspect(task)) this.#suspects.withdrawn();
        else this.#withdrawnInQueue++;
        this.#finish(task, false);
      }
    }
    return running;
  }

  /**
   * A worker is gone. With `charge` (it died, or its connection dropped: it may have been killed by
   * one of its tasks), every task it held counts one death: those that have now seen `maxAttempts`
   * deaths fail and are returned, those whose next death would fail them become suspects that run
   * alone (see dispatch()), and the rest go back to the front of the ordinary queue. Without (it
   * left, reconnected, or was dropped for being stuck), its tasks go back to the front as they were.
   */
  removeWorker(key: string, exit: string, charge = true): Task[] {
    const w = this.#workers.get(key);
    if (!w) return [];
    this.#workers.delete(key);
    const failed: Task[] = [];
    const requeue: Task[] = [];
    for (const task of w.inFlight.values()) {
      if (task.hedgeGroup > 0 && this.#hedge.holderLost(w, task)) continue; // its other run goes on
      task.worker = undefined;
      task.startedAt = 0;
      task.cancelledAt = 0;
      if (charge) {
        task.deaths++;
        task.lastExit = exit;
      }
      if (task.withdrawn) this.#finish(task, false);
      else if (task.deaths >= this.#maxAttempts) {
        this.#finish(task, false);
        failed.push(task);
      } else requeue.push(task);
    }
    // Back in the order they were dispatched in, which is the order the caller wanted them in.
    requeue.sort((a, b) => a.dispatchOrder - b.dispatchOrder);
    for (let i = requeue.length - 1; i >= 0; i--) {
      const task = requeue[i]!;
      if (this.#suspects.isSuspect(task)) this.#suspects.unshift(task);
      else this.#queue.unshift(task);
    }
    if (charge) this.retried += requeue.length;
    return failed;
  }

  /** Workers stuck on a task past its timeout, or on cancelled work (see stuck.ts); their stuck tasks are finished. */
  wedged(now: number, graceMs: number): Wedged[] {
    return findStuck(this.#workers.values(), now, graceMs, (w, task) => {
      w.inFlight.delete(task.seq);
      w.timed--;
      if (task.hedgeGroup > 0 && this.#hedge.finished(w, task, now, false) === "lost") return;
      this.#finish(task, false);
    });
  }

  /**
   * Hands queued tasks to workers with credit. Suspects first, each alone to an idle worker; when
   * suspects wait and no worker is idle, the least busy one is drained (it gets no new ordinary
   * task) so that one soon is. Then ordinary tasks, each batch spread across the workers.
   */
  dispatch(now = 0, limit = Infinity): Dispatch[] {
    const plan = new Map<WorkerSlot, Task[]>();
    this.#budget = limit;
    if (limit <= 0) return [];
    // Under a rate limit a task goes only to a free slot, so that it starts as it arrives: the
    // limit counts dispatches, and a task held in a worker's prefetch would start later, bunched.
    const limited = limit !== Infinity;
    this.#suspects.dispatch(this.#workers, (w) => plan.has(w), () => this.#budget, (w, task) => this.#assign(plan, w, task, now));
    for (;;) {
      this.#dropWithdrawnHead();
      if (this.#queue.size === 0) break;
      const open: WorkerSlot[] = [];
      for (const w of this.#workers.values()) {
        if (w.credit > 0 && !w.isolated && !w.draining && (!limited || w.inFlight.size < w.concurrency)) open.push(w);
      }
      if (open.length === 0) break;
      // Each worker's fair part of all the work (queued and in flight), by its concurrency: a worker
      // whose credit was granted for quick tasks must not hoard a batch of slow ones.
      let capacity = 0;
      let held = 0;
      for (const w of this.#workers.values()) {
        capacity += w.concurrency;
        held += w.inFlight.size;
      }
      const total = this.queued + held;
      const start = this.#rotation++ % open.length;
      let progressed = false;
      for (let i = 0; i < open.length && this.#queue.size > 0; i++) {
        const w = open[(start + i) % open.length]!;
        let fair = Math.max(1, Math.ceil((total * w.concurrency) / capacity)) - w.inFlight.size;
        if (limited) fair = Math.min(fair, w.concurrency - w.inFlight.size);
        for (let taken = 0; taken < fair && w.credit > 0 && this.#budget > 0; taken++) {
          this.#dropWithdrawnHead();
          const task = this.#queue.shift();
          if (!task) break;
          this.#assign(plan, w, task, now);
          progressed = true;
        }
      }
      if (!progressed || this.#budget <= 0) break;
    }
    if (this.#hedge.active && this.queued === 0 && this.#suspects.size === 0) this.#hedge.dispatch(this.#workers.values(), plan, now);
    const out: Dispatch[] = [];
    for (const [worker, tasks] of plan) out.push({ worker, tasks });
    return out;
  }

  /** Hedges started and their losers' results dropped; the runs to cancel (see Hedger). */
  get hedge(): Hedger {
    return this.#hedge;
  }

  #assign(plan: Map<WorkerSlot, Task[]>, w: WorkerSlot, task: Task, now: number): void {
    task.worker = w;
    task.dispatchedAt = now;
    task.dispatchOrder = this.#dispatches++;
    if (w.inFlight.size === 0) w.lastHeard = now;
    if (task.timeout > 0) w.timed++;
    w.inFlight.set(task.seq, task);
    w.credit--;
    this.#budget--;
    const batch = plan.get(w);
    if (batch) batch.push(task);
    else plan.set(w, [task]);
  }

  #dropWithdrawnHead(): void {
    for (let head = this.#queue.peek(); head?.withdrawn; head = this.#queue.peek()) {
      this.#queue.shift();
      this.#withdrawnInQueue--;
    }
  }

  /** The task's outcome is final: its dependents are released, or fail (and theirs) if it failed. */
  #finish(task: Task, ok: boolean): void {
    this.#tasks.delete(task.seq);
    if (task.seq < JOB_SEQ_BASE) this.#finished.add(task.seq);
    task.worker = undefined;
    this.#dependencies.finished(task, ok);
  }
}
