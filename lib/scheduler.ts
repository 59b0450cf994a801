// The broker's decisions, without sockets or clocks: which worker gets which task, what happens
// to a dead worker's tasks, which results count. The broker feeds it events and carries out what
// it returns; test/scheduler.test.js drives it directly.
import { Deque } from "./ring.js";
import { SeqMap } from "./seq-map.js";
import { SeqSet } from "./seq-set.js";

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
  const task = spareTasks.pop();
  if (!task) {
    return {
      seq, id, fn, timeout, deaths, payload, payloadStart, payloadEnd, worker: undefined, withdrawn: false, lastExit: "", dispatchedAt: 0,
      waitingOn: 0, dependents: undefined, item: undefined, job: -1,
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
const spareTasks: Task[] = [];
const SPARE_TASKS = 4096;

/**
 * Takes back a finished task record that nothing refers to any more (its result has been copied
 * out, it has no dependents and is not a pipeline job), for newTask() to reuse.
 */
export function recycleTask(task: Task): void {
  if (spareTasks.length >= SPARE_TASKS) return;
  task.payload = NO_PAYLOAD;
  task.item = undefined;
  task.dependents = undefined;
  task.worker = undefined;
  spareTasks.push(task);
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
/** Failed seqs remembered so that a later `after` on them fails at once. */
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
  /** Tasks it runs at once (from its Hello). */
  concurrency: number;
  /** Last time it was heard from, or was handed work while idle. */
  lastHeard: number;
  /** In-flight tasks that have a timeout. */
  timed: number;
}

export interface Wedged {
  worker: WorkerSlot;
  /** The tasks it is presumably stuck on: they fail with a TimeoutError. */
  timedOut: Task[];
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
  readonly #queue = new Deque<Task>(1024);
  readonly #workers = new Map<string, WorkerSlot>();
  readonly #finished = new SeqSet();
  #nextJobSeq = JOB_SEQ_BASE;
  readonly #failed = new Map<number, true>();
  #dependencyFailures: DependencyFailure[] = [];
  #waiting = 0;
  #withdrawnInQueue = 0;
  #nextIndex = 0;
  #rotation = 0;

  retried = 0;

  constructor(options: SchedulerOptions) {
    this.#maxAttempts = options.maxAttempts;
  }

  get queued(): number {
    return this.#queue.size - this.#withdrawnInQueue;
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

  worker(key: string): WorkerSlot | undefined {
    return this.#workers.get(key);
  }

  addWorker(key: string, concurrency = 1, now = 0): WorkerSlot {
    const existing = this.#workers.get(key);
    if (existing) return existing;
    const slot: WorkerSlot = {
      key, index: this.#nextIndex++, credit: 0, inFlight: new SeqMap<Task>(64), done: 0, isolated: false, concurrency, lastHeard: now, timed: 0,
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
   * A new task. Returns false (and ignores it) if that seq is known or finished. With `after`, the
   * task waits until those seqs have succeeded; if one has failed (or is unknown), the task fails
   * at once and shows up in takeDependencyFailures(). With `first`, it is queued ahead of the rest
   * (a pipeline job whose parents just finished: an item's work is finished before new items start).
   */
  submit(task: Task, after?: readonly number[], first = false): boolean {
    if (task.seq >= JOB_SEQ_BASE) {
      if (task.seq < this.#nextJobSeq) return false;
      this.#nextJobSeq = task.seq + 1;
    } else if (this.#tasks.has(task.seq) || this.#finished.has(task.seq)) return false;
    this.#tasks.set(task.seq, task);
    if (after) {
      for (const dep of after) {
        const parent = this.#tasks.get(dep);
        if (parent) {
          (parent.dependents ??= []).push(task);
          task.waitingOn++;
        } else if (this.#failed.has(dep) || !this.isFinished(dep)) {
          this.#unlinkFromParents(task, after);
          this.#dependencyFailures.push({ task, because: dep });
          this.#finish(task, false);
          return true;
        }
      }
    }
    if (task.waitingOn > 0) this.#waiting++;
    else if (first) this.#queue.unshift(task);
    else this.#queue.push(task);
    return true;
  }

  /** Tasks failed because a dependency did not succeed, since the last call. */
  takeDependencyFailures(): DependencyFailure[] {
    const out = this.#dependencyFailures;
    if (out.length > 0) this.#dependencyFailures = [];
    return out;
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
  withdraw(seqs: Iterable<number>): Map<WorkerSlot, number[]> {
    const running = new Map<WorkerSlot, number[]>();
    for (const seq of seqs) {
      const task = this.#tasks.get(seq);
      if (!task || task.withdrawn) continue;
      task.withdrawn = true;
      if (task.worker) {
        const list = running.get(task.worker) ?? [];
        list.push(seq);
        running.set(task.worker, list);
      } else {
        if (task.waitingOn > 0) this.#waiting--;
        else this.#withdrawnInQueue++;
        this.#finish(task, false);
      }
    }
    return running;
  }

  /**
   * A worker is gone. Its tasks go back to the front of the queue, marked so each then runs alone;
   * those that have now seen `maxAttempts` workers die fail and are returned. With `charge: false`
   * (the broker itself dropped the worker, e.g. for being stuck on a timed-out task), the others
   * are requeued without counting a death against them.
   */
  removeWorker(key: string, exit: string, charge = true): Task[] {
    const w = this.#workers.get(key);
    if (!w) return [];
    this.#workers.delete(key);
    const failed: Task[] = [];
    const requeue: Task[] = [];
    for (const task of w.inFlight.values()) {
      task.worker = undefined;
      if (charge) task.deaths++;
      task.lastExit = exit;
      if (task.withdrawn) this.#finish(task, false);
      else if (task.deaths >= this.#maxAttempts) {
        this.#finish(task, false);
        failed.push(task);
      } else requeue.push(task);
    }
    for (let i = requeue.length - 1; i >= 0; i--) this.#queue.unshift(requeue[i]!);
    this.retried += requeue.length;
    return failed;
  }

  /**
   * Workers that hold a task with a timeout and have been silent longer than that timeout plus
   * `graceMs`: their own timer would have reported the timeout, so their event loop is stuck.
   * Returns each with the tasks it is presumably stuck on (its oldest timed ones, up to its
   * concurrency), which are taken out of its hands; the broker then fails those and drops the worker.
   */
  wedged(now: number, graceMs: number): Wedged[] {
    const out: Wedged[] = [];
    for (const w of this.#workers.values()) {
      if (w.timed === 0) continue;
      let longest = 0;
      for (const t of w.inFlight.values()) if (t.timeout > longest) longest = t.timeout;
      if (now - w.lastHeard <= longest + graceMs) continue;
      const timedOut: Task[] = [];
      for (const t of w.inFlight.values()) {
        if (t.timeout > 0 && now - t.dispatchedAt > t.timeout) timedOut.push(t);
        if (timedOut.length === w.concurrency) break;
      }
      for (const t of timedOut) {
        w.inFlight.delete(t.seq);
        w.timed--;
        this.#finish(t, false);
      }
      out.push({ worker: w, timedOut });
    }
    return out;
  }

  /** Hands queued tasks to workers with credit, spreading each batch across them. */
  dispatch(now = 0): Dispatch[] {
    const plan = new Map<WorkerSlot, Task[]>();
    for (;;) {
      this.#dropWithdrawnHead();
      if (this.#queue.size === 0) break;
      const open: WorkerSlot[] = [];
      for (const w of this.#workers.values()) if (w.credit > 0 && !w.isolated) open.push(w);
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
        let batch = plan.get(w);
        const fair = Math.max(1, Math.ceil((total * w.concurrency) / capacity)) - w.inFlight.size;
        for (let taken = 0; taken < fair && w.credit > 0 && !w.isolated; taken++) {
          this.#dropWithdrawnHead();
          const task = this.#queue.peek();
          if (!task) break;
          if (task.deaths > 0) {
            // A survivor of a worker death runs alone on an idle worker.
            if (w.inFlight.size > 0 || batch) break;
            w.isolated = true;
          }
          this.#queue.shift();
          task.worker = w;
          task.dispatchedAt = now;
          if (w.inFlight.size === 0) w.lastHeard = now;
          if (task.timeout > 0) w.timed++;
          w.inFlight.set(task.seq, task);
          w.credit--;
          if (!batch) plan.set(w, (batch = []));
          batch.push(task);
          progressed = true;
        }
      }
      if (!progressed) break;
    }
    const out: Dispatch[] = [];
    for (const [worker, tasks] of plan) out.push({ worker, tasks });
    return out;
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
      const list = this.#tasks.get(dep)?.dependents;
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
      this.#failed.set(task.seq, true);
      if (this.#failed.size > FAILED_MEMORY) this.#failed.delete(this.#failed.keys().next().value!);
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
