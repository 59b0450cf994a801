// Running the tasks a worker holds: at most `concurrency` at once, in the order they came; their
// outcomes to the result sink; cancels, timeouts, and how much to ask the broker for.
import { performance } from "node:perf_hooks";
import { CancelledError, TimeoutError } from "../shared/errors.js";
import { SeqMap } from "../shared/seq-map.js";
import { Spares } from "../shared/spares.js";
import type { BodyParts } from "../wire/body-parts.js";
import { ValueReader } from "../wire/value-reader.js";
import { at } from "../wire/columns.js";
import { serializeError } from "../wire/error-wire.js";
import { Status } from "../wire/protocol.js";
import type { TaskBatch } from "../wire/task-batch.js";
import type { Handler } from "./handler-module.js";
import { Batch, Batcher } from "./batcher.js";
import { HeldTask } from "./held-task.js";
import type { ResultSink } from "./result-sink.js";
import { LATER, Slots, type StartOutcome } from "./slots.js";
import { TaskContext } from "./task-context.js";

/**
 * Aim to hold this many milliseconds of work beyond what is running, so a task is always at hand.
 * Tasks that arrive while synchronous tasks run wait for that run to end, and every run ends with a
 * trip through the event loop: 5 ms of 1 ms CPU-bound tasks per run keeps that gap small (speed-up
 * on 2 workers 1.75 -> 1.81 over one lane against 2 ms), and tasks under ~5 µs are capped by
 * MAX_PREFETCH anyway.
 */
const PREFETCH_MS = 5;
/** Tasks at most this long get a whole wave (their concurrency) prefetched. */
const WAVE_MS = 20;
const MAX_PREFETCH = 1000;
/**
 * Results sent from inside a batch once this many are waiting, or this many bytes, so the caller
 * can refill early (and a batch of large results does not become one huge message).
 */
const FLUSH_EVERY = 512;
const FLUSH_BYTES = 256 * 1024;
/**
 * ... or once a synchronous run of tasks has lasted this long (the run yields to the event loop,
 * whose next turn sends them): the broker gets the results and the credit while the rest of the
 * batch runs, so the next tasks are here when it ends (CPU-bound tasks of a millisecond would
 * otherwise leave the worker idle for a round trip after every batch). Not more often: each
 * message wakes the broker, the caller and their I/O threads, on the same CPUs the CPU-bound tasks
 * use, and on the 2-core machine of bench/README.md one such round costs some 300 µs of CPU over
 * the processes (system calls are dear on its virtual machine): 7 % of a worker's time at 4 ms,
 * 2 % at 16 (C, 4,000 × 1 ms on 2 workers: 2,660 ms at 4, 2,565 at 8, 2,483 at 16). Handlers that
 * ran synchronously get these milliseconds on top of PREFETCH_MS. A run that empties the worker's
 * queue sends at once, whatever its length: a lone task is never held back.
 */
const FLUSH_AFTER_MS = 16;
/** Held tasks kept for reuse (those that ended synchronously: no callback can still reach them). */
const SPARE_TASKS = 1024;
/**
 * A synchronous run of tasks looks at its socket at least this often, and lets the event loop read
 * what waits there (a Cancel for tasks it holds, say) before starting the next task: a cancelled
 * task that has not started never starts once its Cancel has reached this process.
 */
const LOOK_EVERY_MS = 0.25;

/** What the runner needs of the rest of the worker. */
export interface RunnerContext {
  /** The socket's single writer. */
  readonly outbox: { readonly busy: boolean; flushNow(): void; wake(): void };
  /** Whether a message waits on the socket. */
  readonly socket: { readonly readable: boolean };
  readonly sink: ResultSink;
  /** The handler for a task's `fn`, or why there is none. */
  handler(fn: string): Handler | string;
}

export class TaskRunner {
  readonly #c: RunnerContext;
  readonly #concurrency: number;
  readonly #slots: Slots<HeldTask | Batch>;
  readonly #batcher: Batcher;
  /** The batch size tasks asked for last (1: none): the window holds a batch per slot, and one more. */
  #batchSize = 1;
  readonly #held = new SeqMap<HeldTask>();
  readonly #spare = new Spares<HeldTask>(SPARE_TASKS);
  #avgTaskMs = -1;
  /** The last task's handler returned without a promise: its results wait up to FLUSH_AFTER_MS. */
  #ranSync = false;
  /** While tasks run synchronously: when that run (or its last yield) began; else 0. */
  #syncRunStart = 0;
  /**
   * The clock as last read inside a synchronous run: when one task ends the next one starts, so the
   * run reads the clock once per task, not twice.
   */
  #syncRunClock = 0;
  /** A timed task ended: its result leaves before any other task starts. */
  #flushBeforeNext = false;
  /** When the socket was last looked at for waiting messages during a synchronous run. */
  #lookedAt = 0;
  /** A resume of the slots after a yield to the event loop is scheduled. */
  #resumeScheduled = false;
  /** From Welcome: how long a cancelled task's handler may take to let go of its slot, ms. */
  grace = 1000;
  /** The LoadBalancer's workerData, handed to handlers as ctx.workerData. */
  workerData: unknown;

  constructor(concurrency: number, context: RunnerContext) {
    this.#c = context;
    this.#concurrency = concurrency;
    this.#slots = new Slots<HeldTask | Batch>(concurrency, (item) => (item instanceof Batch ? this.#batcher.run(item) : this.#run(item)));
    this.#batcher = new Batcher({
      ready: (batch) => this.#slots.add(batch),
      handler: (fn) => this.#c.handler(fn),
      finish: (task, status, value) => this.#finish(task, status, value),
      release: () => this.#slots.release(),
      mustYield: () => this.#mustYield(false),
      ranSync: (sync) => void (this.#ranSync = sync),
    });
  }

  /** Tasks held: running, or waiting for a slot. */
  get held(): number {
    return this.#held.size;
  }

  /** Takes the tasks of a Tasks message: decoded and queued for a slot (run at once while slots are free). */
  accept({ seq, offsets, fn, att, to, id, controls }: TaskBatch, body: BodyParts): void {
    const n = seq.length;
    this.#syncRunStart = this.#syncRunClock = this.#lookedAt = performance.now();
    const values = new ValueReader(body, offsets);
    try {
      for (let i = 0; i < n; i++) {
        const s = seq[i]!;
        let input: unknown;
        let inputError: Error | undefined;
        try {
          input = values.read(i);
        } catch (err) {
          inputError = err as Error;
        }
        const ctx = new TaskContext(at(id, i, ""), at(att, i, 1), this.workerData, s);
        const task = this.#spare.take()?.renew(s, at(fn, i, ""), ctx, input, inputError, at(to, i, 0))
          ?? new HeldTask(s, at(fn, i, ""), ctx, input, inputError, at(to, i, 0));
        this.#held.set(s, task);
        const { batchSize, batchWait } = controls(i);
        if (batchSize !== this.#batchSize) {
          // The window changes with it: a larger one is granted at once (credit alone, if need be).
          this.#batchSize = batchSize;
          this.#c.sink.creditDue = true;
          this.#c.outbox.wake();
        }
        if (batchSize > 1) this.#batcher.add(task, batchSize, batchWait);
        else this.#slots.add(task);
      }
    } finally {
      values.close();
      this.#syncRunStart = 0;
    }
  }

  /**
   * Cancel: a task not started is answered at once (Cancelled) and never starts; a running one has
   * its signal aborted and `grace` ms to let go, then its slot is freed anyway, so an abandoned task
   * never blocks the tasks after it.
   */
  cancel(seqs: readonly number[]): void {
    for (const seq of seqs) {
      const task = this.#held.get(seq);
      if (!task) continue;
      const err = new CancelledError(`task ${task.ctx.id} was cancelled`, { id: task.ctx.id });
      task.ctx.abort(err);
      if (task.started === 0) this.#finish(task, Status.Cancelled, serializeError(err));
      else if (task.holdsSlot) {
        if (task.timer) clearTimeout(task.timer);
        task.timer = setTimeout(() => this.#settle(task, Status.Cancelled, serializeError(err)), this.grace);
      }
    }
  }

  /**
   * Drops every task held (the broker has requeued them, or is a new broker): running handlers get
   * their signal aborted and their slots are freed, since the broker no longer counts them.
   */
  dropAll(): void {
    const held = this.#held.values();
    this.#held.clear();
    this.#flushBeforeNext = false;
    this.#batcher.clear();
    this.#batcher.dropRunning();
    for (const task of held) {
      task.finished = true;
      if (task.timer) clearTimeout(task.timer);
      task.ctx.abort(new CancelledError("the broker reset this worker", { id: task.ctx.id }));
      if (task.holdsSlot) {
        task.holdsSlot = false;
        this.#slots.release();
      }
    }
  }

  /** Leaving: tasks not started will not be; their seqs, to hand back to the broker (Bye). */
  handBack(): number[] {
    this.#slots.clear();
    this.#batcher.clear();
    const handedBack: number[] = [];
    for (const task of this.#held.values()) {
      if (task.started > 0 || task.finished) continue;
      task.finished = true;
      handedBack.push(task.seq);
    }
    for (const seq of handedBack) this.#held.delete(seq);
    return handedBack;
  }

  /** Resolves once no task runs or waits. */
  onIdle(): Promise<void> {
    return this.#slots.onIdle();
  }

  /**
   * How many tasks to hold: the running ones, plus enough queued to cover PREFETCH_MS of work
   * (throughput), and, for short tasks, a whole wave: concurrent tasks that started together finish
   * together, and every freed slot should find its next task here rather than a broker round trip
   * away. Long tasks keep one spare, so the tail of a map is not held back on one worker.
   */
  window(): number {
    const c = this.#concurrency;
    // Batched tasks: a full batch for every slot and one filling, so each batch is full when work waits.
    const batches = this.#batchSize > 1 ? (c + 1) * this.#batchSize : 0;
    if (this.#avgTaskMs < 0) return Math.max(c + 1, batches);
    const ahead = PREFETCH_MS + (this.#ranSync ? FLUSH_AFTER_MS : 0);
    const throughput = Math.round((c * ahead) / Math.max(this.#avgTaskMs, 0.001));
    const wave = this.#avgTaskMs <= WAVE_MS ? c : 1;
    return Math.max(c + Math.min(MAX_PREFETCH, Math.max(1, throughput, wave)), batches);
  }

  /**
   * Whether to stop a synchronous run before the next task and let the event loop turn: to read a
   * message that waits on the socket (a Cancel must reach the tasks it names before they start), to
   * send what must leave first (a timed task's announcement needs a free socket), or to let results
   * and credit go after FLUSH_AFTER_MS. The run goes on when `#resumeRun` is called from
   * setImmediate, after the loop has read and sent.
   */
  #mustYield(timed: boolean): boolean {
    const now = this.#syncRunStart > 0 ? this.#syncRunClock : performance.now();
    const outbox = this.#c.outbox;
    if (this.#flushBeforeNext || timed) {
      if (outbox.busy) return this.#yield();
      if (this.#flushBeforeNext) {
        this.#flushBeforeNext = false;
        outbox.flushNow();
        if (timed) return this.#yield(); // the flush took the socket: announce in the next turn
      }
    }
    if (now - this.#lookedAt >= LOOK_EVERY_MS) {
      this.#lookedAt = now;
      if (this.#c.socket.readable) return this.#yield();
    }
    if (this.#syncRunStart > 0 && now - this.#syncRunStart >= FLUSH_AFTER_MS) return this.#yield();
    return false;
  }

  #yield(): true {
    if (!this.#resumeScheduled) {
      this.#resumeScheduled = true;
      setImmediate(this.#resumeRun);
    }
    return true;
  }

  readonly #resumeRun = (): void => {
    this.#resumeScheduled = false;
    this.#syncRunStart = this.#syncRunClock = this.#lookedAt = performance.now();
    try {
      this.#slots.resume();
    } finally {
      this.#syncRunStart = 0;
    }
  };

  /**
   * Runs a task: false if it is done already (it ended synchronously, failed or was finished
   * before it started), true if its handler returned a promise: the task then holds one of the
   * `concurrency` slots until the promise settles or the task times out. LATER: not now, see
   * #mustYield. A timed task's start is announced to the broker before its handler runs, so that
   * the broker can tell a handler stuck past its timeout (and only that one) from one that has
   * not started.
   */
  #run(task: HeldTask): StartOutcome {
    if (task.finished) return false;
    if (this.#mustYield(task.timeout > 0)) return LATER;
    const handler = this.#c.handler(task.fn);
    if (typeof handler === "string" || task.inputError) {
      // A JsonText that is not JSON (a bad `zerolb map` input line) goes back as the JsonLinesError
      // it is, for the caller to name its file and line.
      const error = typeof handler === "string" ? new TypeError(handler)
        : task.inputError!.name === "JsonLinesError" ? task.inputError!
        : new TypeError(`task input cannot be decoded: ${task.inputError!.message}`);
      this.#finish(task, Status.Error, serializeError(error));
      return false;
    }
    if (task.timeout > 0) {
      this.#c.sink.announce(task.seq);
      this.#c.outbox.flushNow();
    }
    const input = task.input;
    task.started = this.#syncRunStart > 0 ? this.#syncRunClock : performance.now();
    let out: unknown;
    // A handler's value is the user's: reading its `then` may throw (a getter, a Proxy), and so may
    // calling it. Either fails this task alone; thrown out of here, it would drop the rest of the
    // batch and leave the broker waiting for results that never come.
    let then: unknown;
    try {
      out = handler(input, task.ctx);
      then = (typeof out === "object" && out !== null) || typeof out === "function" ? (out as { then?: unknown }).then : undefined;
    } catch (err) {
      this.#finish(task, Status.Error, serializeError(err));
      return false;
    }
    if (typeof then !== "function") {
      this.#ranSync = true;
      this.#finish(task, Status.Ok, out);
      task.input = undefined;
      this.#spare.give(task);
      return false;
    }
    this.#ranSync = false;
    if (task.timeout > 0) {
      task.timer = setTimeout(() => {
        const err = new TimeoutError(`task ${task.ctx.id} timed out after ${task.timeout} ms`, { id: task.ctx.id });
        task.ctx.abort(err);
        this.#settle(task, Status.Timeout, serializeError(err));
      }, task.timeout);
    }
    try {
      then.call(
        out,
        (value: unknown) => this.#settle(task, Status.Ok, value),
        (err: unknown) => this.#settle(task, Status.Error, serializeError(err)),
      );
    } catch (err) {
      this.#finish(task, Status.Error, serializeError(err)); // a thenable whose then() throws
    }
    // A thenable may settle inside then() (or its then() threw): then it holds no slot.
    if (task.finished) return false;
    task.holdsSlot = true;
    return true;
  }

  /** An async task ended (or timed out, or was cancelled and let go: its handler may still run, but its slot is free). */
  #settle(task: HeldTask, status: number, value: unknown): void {
    this.#finish(task, status, value);
    if (!task.holdsSlot) return;
    task.holdsSlot = false;
    this.#slots.release();
  }

  #finish(task: HeldTask, status: number, value: unknown): void {
    if (task.finished) return;
    task.finished = true;
    if (task.timer) clearTimeout(task.timer);
    this.#held.delete(task.seq);
    const now = performance.now();
    if (this.#syncRunStart > 0) this.#syncRunClock = now;
    if (task.started > 0) this.#avgTaskMs = this.#avgTaskMs < 0 ? now - task.started : this.#avgTaskMs * 0.9 + (now - task.started) * 0.1;
    const sink = this.#c.sink;
    sink.add(task.seq, status, value, task.ctx.id);
    // A timed task's result leaves before anything else starts (see #run).
    if (task.timeout > 0 && task.started > 0) this.#flushBeforeNext = true;
    if (sink.count >= FLUSH_EVERY || sink.byteLength >= FLUSH_BYTES) this.#c.outbox.flushNow();
    else this.#c.outbox.wake();
  }
}
