// The broker's decisions, without sockets or clocks: which worker gets which task, what happens
// to a dead worker's tasks, which results count. The broker feeds it events and carries out what
// it returns; test/scheduler.test.js drives it directly.
import { Deque } from "../shared/ring.js";
import { SeqMap } from "../shared/seq-map.js";
import { SeqSet } from "../shared/seq-set.js";
import { BoundedMap } from "../shared/bounded-map.js";
import { Spares } from "../shared/spares.js";

export interface Task {
  seq: number;
  /** Caller-chosen id ("" when generated from seq). */
  id: string;
  fn: string;
  /** Timeout in ms for one run; 0 = none. */
  timeout: number;
  /** Runs that ended with their worker dying. */
  deaths: number;
  /** The encoded input, opaque: bytes [payloadStart, payloadEnd) of `payload` (the message it came in, kept whole rather than viewed per task). */
  payload: Uint8Array;
  payloadStart: number;
  payloadEnd: number;
  /** Worker holding it while dispatched. */
  worker: WorkerSlot | undefined;
  /** Withdrawn by the caller: never dispatch; drop its result. */
  withdrawn: boolean;
  /** How the last worker that held it ended, for the WorkerExitError message. */
  lastExit: string;
  /** When it was last dispatched (the clock the broker passes to dispatch()). */
  dispatchedAt: number;
  /** Order of its last dispatch among all dispatches: a worker starts its tasks in this order. */
  dispatchOrder: number;
  /** When its worker announced that it started it (timed tasks only), or 0. */
  startedAt: number;
  /** When a Cancel for it went to its worker (withdrawn while dispatched), or 0. */
  cancelledAt: number;
  /** Dependencies not yet succeeded; the task waits (outside the queue, using no credit) until 0. */
  waitingOn: number;
  /** Tasks waiting on this one. */
  dependents: Task[] | undefined;
  /** For a pipeline job: its item's run (opaque to the scheduler) and the job's index. */
  item: unknown;
  job: number;
}

/** A fresh task record with nothing dispatched or waited on yet. */
export function newTask(
  seq: number, id: string, fn: string, timeout: number, deaths: number, payload: Uint8Array, payloadStart = 0, payloadEnd = payload.length,
): Task {
  const task = spareTasks.take();
  if (!task) {
    return {
      seq, id, fn, timeout, deaths, payload, payloadStart, payloadEnd, worker: undefined, withdrawn: false, lastExit: "", dispatchedAt: 0,
      dispatchOrder: 0, startedAt: 0, cancelledAt: 0, waitingOn: 0, dependents: undefined, item: undefined, job: -1,
    };
  }
  task.timeout = timeout;
  task.payload = payload;
  task.payloadStart = payloadStart;
  task.payloadEnd = payloadEnd;
  task.job = -1;
  return renewTask(task, seq, id, fn, deaths);
}

/** Finished records kept for newTask() to reuse: a task costs the broker's collector nothing. */
const spareTasks = new Spares<Task>(4096);

/**
 * Takes back a finished task record that nothing refers to any more (its result has been copied
 * out, it has no dependents and is not a pipeline job), for newTask() to reuse.
 */
export function recycleTask(task: Task): void {
  if (!spareTasks.hasRoom) return;
  task.payload = NO_PAYLOAD;
  task.item = undefined;
  task.dependents = undefined;
  task.worker = undefined;
  spareTasks.give(task);
}
const NO_PAYLOAD = new Uint8Array(0);

/**
 * A finished task record made a fresh task again, keeping its payload range (a pipeline job whose
 * input is its parent's result, queued in that parent's record). Resets what newTask() sets.
 */
export function renewTask(task: Task, seq: number, id: string, fn: string, deaths = 0): Task {
  task.seq = seq;
  task.id = id;
  task.fn = fn;
  task.deaths = deaths;
  task.worker = undefined;
  task.withdrawn = false;
  task.lastExit = "";
  task.dispatchedAt = 0;
  task.startedAt = 0;
  task.cancelledAt = 0;
  task.waitingOn = 0;
  task.dependents = undefined;
  return task;
}

/** A task that failed without running because `because` (a dependency) did not succeed. */
export interface DependencyFailure {
  task: Task;
  because: Task | number;
}

/** Pipeline jobs get seqs from here up, apart from the caller's seqs (which start at 0). */
export const JOB_SEQ_BASE = 2 ** 48;
/**
 * Failed seqs remembered (with their ids, for messages) so that a task whose Submit was on its way
 * while its dependency failed still fails. The caller itself fails a task whose dependency it knows
 * has failed, so this covers only that short race.
 */
const FAILED_MEMORY = 100_000;

export interface WorkerSlot {
  readonly key: string;
  /** Small number for stats and result attribution. */
  readonly index: number;
  /** Tasks the worker has room for and has not been sent. */
  credit: number;
  readonly inFlight: SeqMap<Task>;
  done: number;
  /** Holds a task that was on a worker that died: it runs alone, so the next death is its own. */
  isolated: boolean;
  /** Gets no new ordinary task until it is idle, then runs suspects alone (see dispatch()). */
  draining: boolean;
  /** Tasks it runs at once (from its Hello). */
  concurrency: number;
  /** Last time it was heard from, or was handed work while idle. */
  lastHeard: number;
  /** In-flight tasks that have a timeout. */
  timed: number;
}

export interface Wedged {
  worker: WorkerSlot;
  /** The tasks it is stuck on past their timeout: they fail with a TimeoutError. */
  timedOut: Task[];
  /** Why it counts as stuck, for logs. */
  why: string;
}

export interface Dispatch {
  worker: WorkerSlot;
  tasks: Task[];
}

/**
 * A result the scheduler does not take: "withdrawn", the caller no longer wants it; "duplicate",
 * finished already (a late result from a worker presumed dead); "not-held", the worker does not
 * hold that task (a protocol violation).
 */
export type Rejection = "withdrawn" | "duplicate" | "not-held";

export interface SchedulerOptions {
  /** Runs of one task whose worker died before the task fails. */
  maxAttempts: number;
}

export class Scheduler {
  readonly #maxAttempts: number;
  readonly #tasks = new SeqMap<Task>(4096, 1 << 18);
  /** Ordinary tasks waiting for a worker. */
  readonly #queue = new Deque<Task>(1024);
  /**
   * Tasks whose next death would fail them (suspects: they were on workers that died, and one of
   * them may be what killed them), waiting to run alone on an idle worker, so that a death there is
   * their own and an innocent task is never failed for a neighbour's crash. Apart from #queue, so
   * that they do not hold ordinary tasks back. With the default maxAttempts (3), a task becomes a
   * suspect only after two deaths: a worker killed from outside makes no suspects, only a task that
   * kills workers again and again does (with the tasks that shared its workers twice).
   */
  readonly #suspects = new Deque<Task>(64);
  readonly #workers = new Map<string, WorkerSlot>();
  readonly #finished = new SeqSet();
  #nextJobSeq = JOB_SEQ_BASE;
  /** Failed seqs (and their ids), bounded: see FAILED_MEMORY. */
  readonly #failed = new BoundedMap<number, string>(FAILED_MEMORY);
  /**
   * Tasks waiting for a dependency that has not arrived yet, by its seq. The caller names in
   * `after` only tasks it has submitted and not seen finish, so each of these is on its way (after
   * a reconnect or a broker restart, the order in which tasks arrive is not the order they were sent).
   */
  readonly #awaited = new Map<number, Task[]>();
  #dependencyFailures: DependencyFailure[] = [];
  #waiting = 0;
  #withdrawnInQueue = 0;
  #withdrawnSuspects = 0;
  #nextIndex = 0;
  #rotation = 0;
  #dispatches = 0;
  /** Some worker is draining for suspects. */
  #draining = false;

  retried = 0;

  constructor(options: SchedulerOptions) {
    this.#maxAttempts = options.maxAttempts;
  }

  get queued(): number {
    return this.#queue.size - this.#withdrawnInQueue + this.#suspects.size - this.#withdrawnSuspects;
  }

  /** Tasks waiting on dependencies. */
  get waiting(): number {
    return this.#waiting;
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
    if (after) {
      for (const dep of after) {
        const parent = this.#tasks.get(dep);
        if (parent) {
          (parent.dependents ??= []).push(task);
          task.waitingOn++;
        } else if (this.#failed.has(dep)) {
          this.#unlinkFromParents(task, after);
          this.#dependencyFailures.push({ task, because: dep });
          this.#finish(task, false);
          return true;
        } else if (!this.isFinished(dep)) {
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
    if (task.waitingOn > 0) this.#waiting++;
    else if (first) this.#queue.unshift(task);
    else this.#queue.push(task);
    return true;
  }

  /**
   * The caller no longer has these seqs outstanding, so tasks still waiting for them to arrive wait
   * in vain: they fail as if the dependency had failed (the caller knows its outcome and has
   * re-sent, or failed, those dependents itself). Called after a reconnect, with what the caller
   * lists as outstanding.
   */
  forgetAwaitedExcept(outstanding: ReadonlySet<number>): void {
    for (const seq of [...this.#awaited.keys()]) if (!outstanding.has(seq)) this.#failAwaiting(seq);
  }

  /** `seq` will not arrive (withdrawn, or not outstanding): tasks awaiting it fail. */
  #failAwaiting(seq: number): void {
    const waiting = this.#awaited.get(seq);
    if (!waiting) return;
    this.#awaited.delete(seq);
    this.#failed.set(seq, "");
    for (const child of waiting) {
      if (!this.#tasks.has(child.seq)) continue;
      this.#waiting--;
      this.#dependencyFailures.push({ task: child, because: seq });
      this.#finish(child, false);
    }
  }

  /** Tasks failed because a dependency did not succeed, since the last call. */
  takeDependencyFailures(): DependencyFailure[] {
    const out = this.#dependencyFailures;
    if (out.length > 0) this.#dependencyFailures = [];
    return out;
  }

  /** The id (or "" for a generated one) of a failed seq still remembered. */
  failedId(seq: number): string | undefined {
    return this.#failed.get(seq);
  }

  /**
   * Whether this seq has finished (succeeded, failed or been withdrawn). Pipeline job seqs are the
   * broker's own and never submitted twice, so for them finished means handed out and no longer
   * held: no set to keep (they finish far out of order, which would make a watermark churn).
   */
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
   */
  result(key: string, seq: number, ok = true): Task | Rejection {
    const w = this.#workers.get(key);
    const task = w?.inFlight.get(seq);
    if (!w || !task) return this.isFinished(seq) ? "duplicate" : "not-held";
    w.inFlight.delete(seq);
    if (task.timeout > 0) w.timed--;
    w.done++;
    if (w.isolated && w.inFlight.size === 0) w.isolated = false;
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
        this.#failAwaiting(seq);
        continue;
      }
      if (task.withdrawn) continue;
      task.withdrawn = true;
      if (task.worker) {
        task.cancelledAt = now;
        const list = running.get(task.worker) ?? [];
        list.push(seq);
        running.set(task.worker, list);
      } else {
        if (task.waitingOn > 0) this.#waiting--;
        else if (this.#isSuspect(task)) this.#withdrawnSuspects++;
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
      if (this.#isSuspect(task)) this.#suspects.unshift(task);
      else this.#queue.unshift(task);
    }
    if (charge) this.retried += requeue.length;
    return failed;
  }

  /**
   * Workers whose event loop is stuck, so they cannot answer for themselves. A worker announces the
   * start of every task with a timeout (see docs/protocol.md), so a task past `timeout + graceMs`
   * since its announced start, from a worker silent for `graceMs`, is stuck: it fails with a
   * TimeoutError. A worker silent for `graceMs` after a Cancel, whose possibly running tasks (the
   * first `concurrency` it holds, in the order it starts them) are all cancelled, is stuck on
   * cancelled work. Tasks that never started are never blamed. The stuck tasks are taken out of the
   * worker's hands; the broker then fails them and drops the worker (its other tasks are requeued).
   */
  wedged(now: number, graceMs: number): Wedged[] {
    const out: Wedged[] = [];
    for (const w of this.#workers.values()) {
      if (now - w.lastHeard <= graceMs) continue;
      let timedOut: Task[] | undefined;
      let cancelled = false;
      for (const t of w.inFlight.values()) {
        if (t.startedAt > 0 && t.timeout > 0 && now - t.startedAt > t.timeout + graceMs) (timedOut ??= []).push(t);
        else if (t.cancelledAt > 0 && now - t.cancelledAt > graceMs) cancelled = true;
      }
      if (timedOut) {
        for (const t of timedOut) {
          w.inFlight.delete(t.seq);
          w.timed--;
          this.#finish(t, false);
        }
        out.push({ worker: w, timedOut, why: "stuck past a task's timeout" });
      } else if (cancelled && this.#runsOnlyCancelled(w)) {
        out.push({ worker: w, timedOut: [], why: "stuck on a cancelled task" });
      }
    }
    return out;
  }

  /** Whether every task `w` may be running now (its first `concurrency`, in start order) is withdrawn. */
  #runsOnlyCancelled(w: WorkerSlot): boolean {
    const held = w.inFlight.values().sort((a, b) => a.dispatchOrder - b.dispatchOrder);
    for (let i = 0; i < held.length && i < w.concurrency; i++) if (!held[i]!.withdrawn) return false;
    return held.length > 0;
  }

  /**
   * Hands queued tasks to workers with credit. Suspects first, each alone to an idle worker; when
   * suspects wait and no worker is idle, the least busy one is drained (it gets no new ordinary
   * task) so that one soon is. Then ordinary tasks, each batch spread across the workers.
   */
  dispatch(now = 0): Dispatch[] {
    const plan = new Map<WorkerSlot, Task[]>();
    if (this.#suspects.size > 0) this.#dispatchSuspects(plan, now);
    else if (this.#draining) this.#stopDraining();
    for (;;) {
      this.#dropWithdrawnHead();
      if (this.#queue.size === 0) break;
      const open: WorkerSlot[] = [];
      for (const w of this.#workers.values()) if (w.credit > 0 && !w.isolated && !w.draining) open.push(w);
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
        const fair = Math.max(1, Math.ceil((total * w.concurrency) / capacity)) - w.inFlight.size;
        for (let taken = 0; taken < fair && w.credit > 0; taken++) {
          this.#dropWithdrawnHead();
          const task = this.#queue.shift();
          if (!task) break;
          this.#assign(plan, w, task, now);
          progressed = true;
        }
      }
      if (!progressed) break;
    }
    const out: Dispatch[] = [];
    for (const [worker, tasks] of plan) out.push({ worker, tasks });
    return out;
  }

  #dispatchSuspects(plan: Map<WorkerSlot, Task[]>, now: number): void {
    let idle = false;
    for (const w of this.#workers.values()) {
      if (w.credit === 0 || w.isolated || w.inFlight.size > 0 || plan.has(w)) continue;
      const task = this.#nextSuspect();
      if (!task) break;
      w.isolated = true;
      this.#assign(plan, w, task, now);
      idle = true;
    }
    if (this.#suspects.size - this.#withdrawnSuspects === 0) {
      this.#stopDraining();
      return;
    }
    if (idle) return;
    let draining: WorkerSlot | undefined;
    for (const w of this.#workers.values()) {
      if (w.draining) return; // one is on its way to idle already
      if (!w.isolated && (!draining || w.inFlight.size < draining.inFlight.size)) draining = w;
    }
    if (draining) draining.draining = this.#draining = true;
  }

  #stopDraining(): void {
    for (const w of this.#workers.values()) w.draining = false;
    this.#draining = false;
  }

  #isSuspect(task: Task): boolean {
    return task.deaths > 0 && task.deaths >= this.#maxAttempts - 1;
  }

  #nextSuspect(): Task | undefined {
    for (let task = this.#suspects.shift(); task; task = this.#suspects.shift()) {
      if (!task.withdrawn) return task;
      this.#withdrawnSuspects--;
    }
    return undefined;
  }

  #assign(plan: Map<WorkerSlot, Task[]>, w: WorkerSlot, task: Task, now: number): void {
    task.worker = w;
    task.dispatchedAt = now;
    task.dispatchOrder = this.#dispatches++;
    if (w.inFlight.size === 0) w.lastHeard = now;
    if (task.timeout > 0) w.timed++;
    w.inFlight.set(task.seq, task);
    w.credit--;
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

  /**
   * A task whose dependencies just succeeded goes to the front: work on an item is finished
   * before new items start (no stage barrier), and intermediate results are freed sooner.
   */
  #release(task: Task): void {
    this.#queue.unshift(task);
  }

  #unlinkFromParents(task: Task, after: readonly number[]): void {
    for (const dep of after) {
      const list = this.#tasks.get(dep)?.dependents ?? this.#awaited.get(dep);
      const at = list ? list.indexOf(task) : -1;
      if (at >= 0) list!.splice(at, 1);
    }
    task.waitingOn = 0;
  }

  /** The task's outcome is final: release its dependents, or fail them (and theirs) if it failed. */
  #finish(task: Task, ok: boolean): void {
    this.#tasks.delete(task.seq);
    if (task.seq < JOB_SEQ_BASE) this.#finished.add(task.seq);
    task.worker = undefined;
    if (!ok) {
      this.#failed.set(task.seq, task.id);
    }
    const dependents = task.dependents;
    if (!dependents) return;
    task.dependents = undefined;
    for (const child of dependents) {
      if (!this.#tasks.has(child.seq)) continue; // already failed through another parent
      if (ok) {
        if (--child.waitingOn === 0) {
          this.#waiting--;
          this.#release(child);
        }
      } else {
        this.#waiting--;
        this.#dependencyFailures.push({ task: child, because: task });
        this.#finish(child, false);
      }
    }
  }
}
