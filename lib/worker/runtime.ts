// The worker runtime: joins a broker, loads the handler module, runs tasks with a concurrency
// limit and sends results back in batches, granting the broker credit as room frees up.
// The same runtime serves local worker processes and `zerolb worker` on other machines.
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import * as zmq from "zeromq";
import { BodyWriter } from "../wire/body-writer.js";
import { appendValue, decodeValue, encodeValue, ValueReader } from "../wire/codec.js";
import { logger } from "../shared/debug.js";
import { CancelledError, ProtocolError, StartupError, TimeoutError, UnsupportedValueError } from "../shared/errors.js";
import { serializeError, type RemoteError } from "../wire/error-wire.js";
import { loadHandlerModule, type HandlerModule } from "./handler-module.js";
import { Outbox, type Frames } from "../wire/outbox.js";
import { at, column, decodeHeader, EMPTY, readTaskBatch, encodeHeader, Kind, seqColumn, Status, type Header } from "../wire/protocol.js";
import { SeqMap } from "../shared/seq-map.js";
import { LATER, Slots, type StartOutcome } from "./slots.js";
import { TaskContext } from "./task-context.js";
import { dealerOptions, LOCAL_RECONNECT, workerDealerOptions } from "../wire/transport.js";
import type { WorkerConfig } from "../wire/child-messages.js";
import { Spares } from "../shared/spares.js";

const log = logger("worker");

export interface WorkerEvents {
  /** setup() is done and Ready was sent (the first time). */
  onReady?(): void;
  /** Joined a broker: Welcome received, Ready sent. `rejoin` after the first time. */
  onJoin?(info: { rejoin: boolean; session: string; credit: number }): void;
  /** The connection to the broker dropped (it stopped, or stopped answering heartbeats). */
  onDisconnect?(): void;
  /** A handshake with the broker failed: key refused, wrong server key, Curve on one side only. */
  onHandshakeError?(kind: string, detail: string): void;
  /** stop() began: `running` tasks will finish, `handedBack` were not started and go back to the broker. */
  onStopping?(info: { running: number; handedBack: number }): void;
}

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
/** How long a leaving worker waits for the broker to acknowledge its Bye before closing anyway. */
const BYE_WAIT_MS = 2000;
/**
 * Results sent from inside a batch once this many are waiting, or this many bytes, so the caller
 * can refill early (and a batch of large results does not become one huge message).
 */
const FLUSH_EVERY = 512;
const FLUSH_BYTES = 256 * 1024;
/**
 * ... or once a synchronous run of tasks has lasted this long: the broker gets the results and the
 * credit while the rest of the batch runs, so the next tasks are here when it ends (CPU-bound tasks
 * of a millisecond would otherwise leave the worker idle for a round trip after every batch). Not
 * more often: each message wakes the broker, the caller and their I/O threads, on the same CPUs
 * the CPU-bound tasks use (1 ms spins on 2 workers, speed-up over one lane 1.81 -> 1.85 against
 * every 1 ms). Handlers that ran synchronously get these milliseconds on top of PREFETCH_MS.
 */
const FLUSH_AFTER_MS = 4;

/** Held tasks kept for reuse (those that ended synchronously: no callback can still reach them). */
const SPARE_TASKS = 1024;
/**
 * A synchronous run of tasks looks at its socket at least this often, and lets the event loop read
 * what waits there (a Cancel for tasks it holds, say) before starting the next task: a cancelled
 * task that has not started never starts once its Cancel has reached this process.
 */
const LOOK_EVERY_MS = 0.25;
/** Room left in a message to a broker with a `maxMessageSize` for its header, per result and fixed. */
const HEADER_BYTES_PER_RESULT = 24;
const HEADER_BYTES = 256;

class HeldTask {
  finished = false;
  started = 0;
  /** Its handler returned a promise that has not settled (nor timed out) yet. */
  holdsSlot = false;
  /** Its timeout, or after a Cancel while it runs, the grace its handler has to let go. */
  timer: NodeJS.Timeout | undefined;
  constructor(
    public seq: number,
    public fn: string,
    public ctx: TaskContext,
    /** The decoded input, or why it could not be decoded (the task then fails with a TypeError). */
    public input: unknown,
    public inputError: Error | undefined,
    public timeout: number,
  ) {}

  /** A spare task (one that ended synchronously) made a new one. */
  renew(seq: number, fn: string, ctx: TaskContext, input: unknown, inputError: Error | undefined, timeout: number): this {
    this.seq = seq;
    this.fn = fn;
    this.ctx = ctx;
    this.input = input;
    this.inputError = inputError;
    this.timeout = timeout;
    this.finished = false;
    this.started = 0;
    return this;
  }
}

export class WorkerRuntime {
  readonly #config: WorkerConfig;
  readonly #events: WorkerEvents;
  readonly #socket: zmq.Dealer;
  readonly #outbox: Outbox;
  readonly #slots: Slots<HeldTask>;
  readonly #held = new SeqMap<HeldTask>();
  readonly #results = new BodyWriter();
  // Reused from message to message: the header is encoded as soon as they are complete.
  readonly #resultSeq: number[] = [];
  readonly #resultSt: number[] = [];
  readonly #spare = new Spares<HeldTask>(SPARE_TASKS);
  #module: HandlerModule | undefined;
  #workerData: unknown;
  #setupDone = false;
  #setup: Promise<void> | undefined;
  /** Welcome received since the last Hello (later Welcomes answer duplicate Hellos: ignored). */
  #welcomed = false;
  #ready = false;
  #joins = 0;
  /** A ZMTP connection to the broker is up (handshake done, no disconnect since). */
  #connected = false;
  #handshakes = 0;
  #helloTimer: NodeJS.Timeout | undefined;
  #byeAcknowledged: (() => void) | undefined;
  #stopped: Promise<void> | undefined;
  /** Credit granted to the broker, and tasks received against it (since the last Ready). */
  #granted = 0;
  #received = 0;
  #avgTaskMs = -1;
  /** The last task's handler returned without a promise: its results wait up to FLUSH_AFTER_MS. */
  #ranSync = false;
  /** While a Tasks message's tasks run synchronously: when that run (or its last flush) began; else 0. */
  #syncRunStart = 0;
  /**
   * The clock as last read inside a synchronous run of a batch: when one task ends the next one
   * starts, so the run reads the clock once per task, not twice.
   */
  #syncRunClock = 0;
  #stopping = false;
  /** Timed tasks started since the last message: the next message announces them (`started`). */
  readonly #announced: number[] = [];
  /** A timed task ended: its result leaves before any other task starts. */
  #flushBeforeNext = false;
  /** When the socket was last looked at for waiting messages during a synchronous run. */
  #lookedAt = 0;
  /** A resume of the slots after a yield to the event loop is scheduled. */
  #resumeScheduled = false;
  /** From Welcome: how long a cancelled task's handler may take to let go of its slot, ms. */
  #grace = 1000;
  /** From Welcome (remote brokers): the largest message the broker accepts; 0 = no limit. */
  #maxMessageSize = 0;
  readonly #fatal: Promise<never>;
  #rejectFatal!: (err: unknown) => void;

  constructor(config: WorkerConfig, events: WorkerEvents = {}) {
    this.#config = config;
    this.#events = events;
    this.#socket = new zmq.Dealer({
      ...dealerOptions(),
      ...(config.connect.startsWith("ipc://") ? LOCAL_RECONNECT : {}),
      ...workerDealerOptions({ curve: config.curve, reconnectMaxInterval: config.reconnectMaxInterval, ipv6: config.connect.includes("://[") }),
      routingId: `w${process.pid}-${randomBytes(4).toString("hex")}`,
      heartbeatInterval: config.heartbeatInterval,
      heartbeatTimeout: config.heartbeatTimeout,
      heartbeatTimeToLive: config.heartbeatTimeout,
    });
    // Results wait for the end of the event loop's phase: tasks that end on timers or I/O of one
    // phase (many concurrent async tasks) leave as one message, not one message each.
    this.#outbox = new Outbox(this.#socket, (err) => log("send failed: %O", err), () => this.#produceResults(), setImmediate);
    this.#slots = new Slots(config.concurrency, (task) => this.#run(task));
    this.#fatal = new Promise<never>((_, reject) => (this.#rejectFatal = reject));
    this.#fatal.catch(() => {});
  }

  /**
   * Loads the module, joins the broker and runs setup(). Resolves once Ready is sent; rejects with
   * a StartupError (module missing, no handler, setup threw).
   */
  async start(): Promise<void> {
    this.#module = await loadHandlerModule(this.#config.module);
    const events = this.#socket.events;
    // After the first handshake, a new one means a new broker (or one that dropped us): rejoin.
    // (The broker also sends Reset to a connection it does not know; whichever comes first makes
    // us say Hello. If we are not joined, a Hello is out already, and repeated until Welcomed.)
    events.on("handshake", () => {
      this.#connected = true;
      if (this.#handshakes++ > 0 && this.#ready && !this.#stopping) this.#rejoin("a new connection to the broker");
    });
    events.on("disconnect", () => {
      const was = this.#connected;
      this.#connected = false;
      this.#byeAcknowledged?.();
      if (was && !this.#stopping) this.#events.onDisconnect?.();
    });
    for (const type of ["handshake:error:auth", "handshake:error:protocol", "handshake:error:other"] as const) {
      events.on(type, (event) => {
        const err = event.error as (Error & { code?: unknown }) | undefined;
        this.#events.onHandshakeError?.(type.slice("handshake:error:".length), err ? `${String(err.code ?? "")} ${err.message}`.trim() : "");
      });
    }
    this.#socket.connect(this.#config.connect);
    void this.#read();
    this.#sayHello();
    await Promise.race([this.#fatal, new Promise<void>((resolve) => (this.#events.onReady = chain(this.#events.onReady, resolve)))]);
  }

  /**
   * Stops taking tasks: those not started go back to the broker (Bye), running ones finish and
   * their results are sent; then teardown() runs and the socket closes. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#helloTimer);
    this.#slots.clear();
    const handedBack: number[] = [];
    for (const task of this.#held.values()) {
      if (task.started > 0 || task.finished) continue;
      task.finished = true;
      handedBack.push(task.seq);
    }
    for (const seq of handedBack) this.#held.delete(seq);
    this.#events.onStopping?.({ running: this.#held.size, handedBack: handedBack.length });
    await this.#slots.onIdle();
    await this.#outbox.onIdle();
    // The results are on their way; Bye follows them on the same connection, and the broker's Reset
    // answering it proves both arrived. Without an answer (the broker is gone), close anyway.
    if (this.#ready && this.#connected) {
      const acknowledged = new Promise<void>((resolve) => (this.#byeAcknowledged = resolve));
      this.#outbox.push([encodeHeader(Kind.Bye, { seq: handedBack })]);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([acknowledged, new Promise((resolve) => (timer = setTimeout(resolve, BYE_WAIT_MS)))]);
      clearTimeout(timer);
    }
    try {
      if (this.#setupDone) await this.#module?.teardown?.();
    } catch (err) {
      log("teardown threw: %O", err);
    }
    this.#socket.close();
  }

  /**
   * Hello, and again every so often until a Welcome comes: a Hello can be lost with a broker that
   * dies before answering, or wait behind a stale connection of ours that the broker still holds.
   */
  #sayHello(): void {
    this.#welcomed = false;
    const hello: Record<string, unknown> = { pid: process.pid, concurrency: this.#config.concurrency };
    if (this.#config.name) hello.name = this.#config.name;
    const message = encodeHeader(Kind.Hello, hello);
    this.#outbox.push([message]);
    clearInterval(this.#helloTimer);
    this.#helloTimer = setInterval(() => {
      if (this.#welcomed || this.#stopping) return clearInterval(this.#helloTimer);
      if (this.#connected) this.#outbox.push([message]);
    }, Math.max(1000, this.#config.heartbeatTimeout));
    this.#helloTimer.unref();
  }

  async #read(): Promise<void> {
    for await (const frames of this.#socket) {
      try {
        this.#onMessage(frames);
      } catch (err) {
        log("dropped a malformed message from the broker: %s", (err as Error).message);
      }
    }
  }

  #onMessage([headerFrame, body]: Buffer[]): void {
    const h = decodeHeader(headerFrame);
    switch (h.k) {
      case Kind.Welcome:
        return void this.#onWelcome(h, body);
      case Kind.Tasks:
        return this.#onTasks(h, body);
      case Kind.Cancel:
        return this.#onCancel(h);
      case Kind.Reset:
        return this.#onReset();
      case Kind.Refused:
        return this.#onRefused(h);
      default:
        throw new ProtocolError(`kind ${h.k} is not for a worker`);
    }
  }

  async #onWelcome(h: Header, body: Buffer | undefined): Promise<void> {
    // One Welcome per Hello we sent; the broker answers each, so later ones are duplicates.
    if (this.#welcomed || this.#stopping) return;
    this.#welcomed = true;
    clearInterval(this.#helloTimer);
    if (Number.isSafeInteger(h.grace) && (h.grace as number) >= 0) this.#grace = h.grace as number;
    this.#maxMessageSize = Number.isSafeInteger(h.maxMessageSize) && (h.maxMessageSize as number) > 0 ? (h.maxMessageSize as number) : 0;
    try {
      // setup() runs once, with the workerData of the first Welcome; later brokers get a Ready.
      await (this.#setup ??= (async () => {
        this.#workerData = body && body.length > 0 ? decodeValue(body) : undefined;
        await this.#module!.setup?.({ workerData: this.#workerData });
        this.#setupDone = true;
      })());
    } catch (err) {
      this.#rejectFatal(new StartupError(`setup() of ${this.#config.module} threw: ${describeThrown(err)}`, { cause: err }));
      return;
    }
    if (!this.#welcomed || this.#stopping) return; // reset while setup() ran: a new Hello is out
    this.#granted = this.#window();
    this.#received = 0;
    this.#ready = true;
    this.#outbox.push([encodeHeader(Kind.Ready, { credit: this.#granted })]);
    log("ready, credit %d", this.#granted);
    const session = typeof h.session === "string" ? h.session : "";
    const rejoin = this.#joins++ > 0;
    this.#events.onJoin?.({ rejoin, session, credit: this.#granted });
    if (!rejoin) this.#events.onReady?.();
  }

  #onTasks(h: Header, body: Buffer | undefined): void {
    // Leaving: the broker hands back whatever it sent us when our Bye arrives.
    if (this.#stopping) return;
    const { seq, offsets, fn, att, to, id } = readTaskBatch(h, body);
    const n = seq.length;
    this.#received += n;
    this.#syncRunStart = this.#syncRunClock = this.#lookedAt = performance.now();
    const values = new ValueReader(body ?? EMPTY, offsets);
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
        const ctx = new TaskContext(at(id, i, ""), at(att, i, 1), this.#workerData, s);
        const task = this.#spare.take()?.renew(s, at(fn, i, ""), ctx, input, inputError, at(to, i, 0))
          ?? new HeldTask(s, at(fn, i, ""), ctx, input, inputError, at(to, i, 0));
        this.#held.set(s, task);
        this.#slots.add(task);
      }
    } finally {
      values.close();
      this.#syncRunStart = 0;
    }
  }

  /**
   * Whether to stop a synchronous run before the next task and let the event loop turn: to read a
   * message that waits on the socket (a Cancel must reach the tasks it names before they start), or
   * to send what must leave first (a timed task's announcement needs a free socket). The run goes on
   * when `#resumeRun` is called from setImmediate, after the loop has read and sent.
   */
  #mustYield(timed: boolean): boolean {
    const now = this.#syncRunStart > 0 ? this.#syncRunClock : performance.now();
    if (this.#flushBeforeNext || timed) {
      if (this.#outbox.busy) return this.#yield();
      if (this.#flushBeforeNext) {
        this.#flushBeforeNext = false;
        this.#outbox.flushNow();
        if (timed) return this.#yield(); // the flush took the socket: announce in the next turn
      }
    }
    if (now - this.#lookedAt >= LOOK_EVERY_MS) {
      this.#lookedAt = now;
      if (this.#socket.readable) return this.#yield();
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
    const handler = this.#module!.handler(task.fn);
    if (typeof handler === "string" || task.inputError) {
      const why = typeof handler === "string" ? handler : `task input cannot be decoded: ${task.inputError!.message}`;
      this.#finish(task, Status.Error, serializeError(new TypeError(why)));
      return false;
    }
    if (task.timeout > 0) {
      this.#announced.push(task.seq);
      this.#outbox.flushNow();
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
    if (task.started > 0) this.#recordDuration(now - task.started);
    if (this.#maxMessageSize > 0) this.#appendChecked(task, status, value);
    else {
      try {
        appendValue(this.#results, value, status === Status.Ok ? "result" : "error");
      } catch (err) {
        status = Status.Error;
        this.#results.append(encodeValue(unsendable(task, err)));
      }
      this.#resultSeq.push(task.seq);
      this.#resultSt.push(status);
    }
    // A timed task's result leaves before anything else starts (see #run).
    if (task.timeout > 0 && task.started > 0) this.#flushBeforeNext = true;
    if (this.#resultSeq.length >= FLUSH_EVERY || this.#results.byteLength >= FLUSH_BYTES) this.#outbox.flushNow();
    else this.#outbox.wake();
  }

  /**
   * Appends a result for a broker with a `maxMessageSize`: a result that could never fit fails its
   * task instead (the broker would cut this worker off for sending it), and results that would
   * not fit with those already waiting leave in a message of their own.
   */
  #appendChecked(task: HeldTask, status: number, value: unknown): void {
    let bytes: Uint8Array;
    try {
      bytes = encodeValue(value, status === Status.Ok ? "result" : "error");
    } catch (err) {
      status = Status.Error;
      bytes = encodeValue(unsendable(task, err));
    }
    const room = this.#maxMessageSize - HEADER_BYTES;
    if (bytes.length + HEADER_BYTES_PER_RESULT > room) {
      status = Status.Error;
      bytes = encodeValue(serializeError(new RangeError(
        `the result of task ${task.ctx.id} is ${bytes.length} bytes encoded, more than the broker accepts in one message (maxMessageSize ${this.#maxMessageSize})`,
      )));
    }
    const pending = this.#resultSeq.length;
    if (pending > 0 && this.#results.byteLength + bytes.length + (pending + 1) * HEADER_BYTES_PER_RESULT > room) {
      const frames = this.#produceResults();
      if (frames) this.#outbox.push(frames);
    }
    this.#results.append(bytes);
    this.#resultSeq.push(task.seq);
    this.#resultSt.push(status);
  }

  #onCancel(h: Header): void {
    for (const seq of seqColumn(h)) {
      const task = this.#held.get(seq);
      if (!task) continue;
      const err = new CancelledError(`task ${task.ctx.id} was cancelled`, { id: task.ctx.id });
      task.ctx.abort(err);
      if (task.started === 0) this.#finish(task, Status.Cancelled, serializeError(err));
      else if (task.holdsSlot) {
        // Running: its handler has `grace` ms to let go (its signal is aborted); then its slot is
        // freed anyway, so an abandoned task never blocks the tasks after it.
        if (task.timer) clearTimeout(task.timer);
        task.timer = setTimeout(() => this.#settle(task, Status.Cancelled, serializeError(err)), this.#grace);
      }
    }
  }

  /** The broker will not take this worker (another protocol version): waiting would be for ever. */
  #onRefused(h: Header): void {
    if (this.#stopping) return;
    const reason = typeof h.reason === "string" ? h.reason : "no reason given";
    this.#rejectFatal(new ProtocolError(`the broker refused this worker: ${reason}`));
  }

  /**
   * Reset: the broker does not know us (it restarted, or took us for dead): join again. While
   * leaving, it is the answer to our Bye.
   */
  #onReset(): void {
    if (this.#stopping) return this.#byeAcknowledged?.();
    if (!this.#ready) return; // a Hello is already on its way
    this.#rejoin("reset by the broker");
  }

  /**
   * Drops what we hold (the broker has requeued it, or is a new broker) and says Hello again.
   * Running handlers get their signal aborted and their slots are freed: the broker no longer
   * counts them, so they must not hold back what it sends next.
   */
  #rejoin(why: string): void {
    log("%s; dropping %d tasks and joining again", why, this.#held.size);
    const held = this.#held.values();
    this.#held.clear();
    this.#results.take();
    this.#resultSeq.length = 0;
    this.#resultSt.length = 0;
    this.#announced.length = 0;
    this.#flushBeforeNext = false;
    this.#ready = false;
    for (const task of held) {
      task.finished = true;
      if (task.timer) clearTimeout(task.timer);
      task.ctx.abort(new CancelledError("the broker reset this worker", { id: task.ctx.id }));
      if (task.holdsSlot) {
        task.holdsSlot = false;
        this.#slots.release();
      }
    }
    this.#sayHello();
  }

  #produceResults(): Frames | undefined {
    if (this.#resultSeq.length === 0 && this.#announced.length === 0) return undefined;
    const { body, lengths } = this.#results.take();
    const fields: Record<string, unknown> = { seq: this.#resultSeq, st: column(this.#resultSt), len: lengths };
    if (this.#announced.length > 0) {
      fields.started = this.#announced.slice();
      this.#announced.length = 0;
    }
    const grant = this.#ready && !this.#stopping ? this.#window() - this.#held.size - (this.#granted - this.#received) : 0;
    if (grant > 0) {
      this.#granted += grant;
      fields.credit = grant;
    }
    const header = encodeHeader(Kind.WorkerResults, fields);
    this.#resultSeq.length = 0;
    this.#resultSt.length = 0;
    return [header, body];
  }

  /**
   * How many tasks to hold: the running ones, plus enough queued to cover PREFETCH_MS of work
   * (throughput), and, for short tasks, a whole wave: concurrent tasks that started together finish
   * together, and every freed slot should find its next task here rather than a broker round trip
   * away. Long tasks keep one spare, so the tail of a map is not held back on one worker.
   */
  #window(): number {
    const c = this.#config.concurrency;
    if (this.#avgTaskMs < 0) return c + 1;
    const ahead = PREFETCH_MS + (this.#ranSync ? FLUSH_AFTER_MS : 0);
    const throughput = Math.round((c * ahead) / Math.max(this.#avgTaskMs, 0.001));
    const wave = this.#avgTaskMs <= WAVE_MS ? c : 1;
    return c + Math.min(MAX_PREFETCH, Math.max(1, throughput, wave));
  }

  #recordDuration(ms: number): void {
    this.#avgTaskMs = this.#avgTaskMs < 0 ? ms : this.#avgTaskMs * 0.9 + ms * 0.1;
  }
}

/** The error value of a task whose result cannot be encoded, naming where in the result. */
function unsendable(task: HeldTask, err: unknown): RemoteError {
  const path = err instanceof UnsupportedValueError ? err.path : "result";
  return serializeError(new UnsupportedValueError(`the result of task ${task.ctx.id} cannot be sent: ${describeThrown(err)}`, path));
}

/** A thrown value's message, whatever was thrown (reading it may throw too). */
function describeThrown(err: unknown): string {
  try {
    return err instanceof Error ? err.message : String(err);
  } catch {
    return typeof err;
  }
}

function chain(first: (() => void) | undefined, second: () => void): () => void {
  return first ? () => (first(), second()) : second;
}
