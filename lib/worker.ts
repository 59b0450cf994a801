// The worker runtime: joins a broker, loads the handler module, runs tasks with a concurrency
// limit and sends results back in batches, granting the broker credit as room frees up.
// The same runtime serves local worker processes and `zerolb worker` on other machines.
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import PQueue from "p-queue";
import * as zmq from "zeromq";
import { BodyWriter } from "./body-writer.js";
import { decodeValue, encodeValue, encodeValueShared } from "./codec.js";
import { logger } from "./debug.js";
import { CancelledError, ProtocolError, serializeError, StartupError, TimeoutError } from "./errors.js";
import { loadHandlerModule, type HandlerModule } from "./handler-module.js";
import { Outbox, type Frames } from "./outbox.js";
import { at, bodyOffsets, checkColumn, decodeHeader, encodeHeader, Kind, seqColumn, Status, type Column, type Header } from "./protocol.js";
import { TaskContext } from "./task-context.js";
import { dealerOptions } from "./transport.js";

const log = logger("worker");

export interface WorkerConfig {
  /** Broker backend endpoint. */
  connect: string;
  /** File URL of the handler module. */
  module: string;
  concurrency: number;
  heartbeatInterval: number;
  heartbeatTimeout: number;
}

export interface WorkerEvents {
  /** setup() is done and Ready was sent. */
  onReady?(): void;
}

/** Aim to hold this many milliseconds of work beyond what is running, so a task is always at hand. */
const PREFETCH_MS = 2;
const MAX_PREFETCH = 1000;

class HeldTask {
  finished = false;
  started = 0;
  timer: NodeJS.Timeout | undefined;
  constructor(
    readonly seq: number,
    readonly fn: string,
    readonly ctx: TaskContext,
    readonly payload: Uint8Array,
    readonly timeout: number,
  ) {}
}

export class WorkerRuntime {
  readonly #config: WorkerConfig;
  readonly #events: WorkerEvents;
  readonly #socket: zmq.Dealer;
  readonly #outbox: Outbox;
  readonly #queue: PQueue;
  readonly #held = new Map<number, HeldTask>();
  readonly #results = new BodyWriter();
  #resultSeq: number[] = [];
  #resultSt: number[] = [];
  #module: HandlerModule | undefined;
  #workerData: unknown;
  #setupDone = false;
  #ready = false;
  /** Credit granted to the broker, and tasks received against it (since the last Ready). */
  #granted = 0;
  #received = 0;
  #avgTaskMs = -1;
  #stopping = false;
  readonly #fatal: Promise<never>;
  #rejectFatal!: (err: unknown) => void;

  constructor(config: WorkerConfig, events: WorkerEvents = {}) {
    this.#config = config;
    this.#events = events;
    this.#socket = new zmq.Dealer({
      ...dealerOptions(),
      routingId: `w${process.pid}-${randomBytes(4).toString("hex")}`,
      heartbeatInterval: config.heartbeatInterval,
      heartbeatTimeout: config.heartbeatTimeout,
      heartbeatTimeToLive: config.heartbeatTimeout,
    });
    this.#outbox = new Outbox(this.#socket, (err) => log("send failed: %O", err), () => this.#produceResults());
    this.#queue = new PQueue({ concurrency: config.concurrency });
    this.#fatal = new Promise<never>((_, reject) => (this.#rejectFatal = reject));
    this.#fatal.catch(() => {});
  }

  /**
   * Loads the module, joins the broker and runs setup(). Resolves once Ready is sent; rejects with
   * a StartupError (module missing, no handler, setup threw).
   */
  async start(): Promise<void> {
    this.#module = await loadHandlerModule(this.#config.module);
    // After the first connect, a new connection means a new broker (or one that dropped us): rejoin.
    let connects = 0;
    this.#socket.events.on("connect", () => {
      if (connects++ > 0 && !this.#stopping) this.#onReset();
    });
    this.#socket.connect(this.#config.connect);
    void this.#read();
    this.#outbox.push([encodeHeader(Kind.Hello, { pid: process.pid, concurrency: this.#config.concurrency })]);
    await Promise.race([this.#fatal, new Promise<void>((resolve) => (this.#events.onReady = chain(this.#events.onReady, resolve)))]);
  }

  /** Stops taking tasks, lets running ones finish, sends their results, runs teardown() and closes. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.#queue.onIdle();
    await this.#outbox.onIdle();
    try {
      if (this.#setupDone) await this.#module?.teardown?.();
    } catch (err) {
      log("teardown threw: %O", err);
    }
    this.#socket.close();
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
        return void this.#onWelcome(body);
      case Kind.Tasks:
        return this.#onTasks(h, body);
      case Kind.Cancel:
        return this.#onCancel(h);
      case Kind.Reset:
        return this.#onReset();
      default:
        throw new ProtocolError(`kind ${h.k} is not for a worker`);
    }
  }

  async #onWelcome(body: Buffer | undefined): Promise<void> {
    if (!this.#setupDone) {
      try {
        this.#workerData = body && body.length > 0 ? decodeValue(body) : undefined;
        await this.#module!.setup?.({ workerData: this.#workerData });
        this.#setupDone = true;
      } catch (err) {
        this.#rejectFatal(new StartupError(`setup() of ${this.#config.module} threw: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
        return;
      }
    }
    this.#granted = this.#window();
    this.#received = 0;
    this.#ready = true;
    this.#outbox.push([encodeHeader(Kind.Ready, { credit: this.#granted })]);
    log("ready, credit %d", this.#granted);
    this.#events.onReady?.();
  }

  #onTasks(h: Header, body: Buffer | undefined): void {
    const seq = seqColumn(h);
    const n = seq.length;
    const offsets = bodyOffsets(h, n, body);
    checkColumn(h, "fn", n, "string");
    checkColumn(h, "att", n, "number");
    checkColumn(h, "to", n, "number");
    checkColumn(h, "id", n, "string");
    const fn = h.fn as Column<string> | undefined;
    const att = h.att as Column<number> | undefined;
    const to = h.to as Column<number> | undefined;
    const id = h.id as Column<string> | undefined;
    this.#received += n;
    for (let i = 0; i < n; i++) {
      const s = seq[i]!;
      const ctx = new TaskContext(at(id, i, "") || String(s), at(att, i, 1), this.#workerData);
      const task = new HeldTask(s, at(fn, i, ""), ctx, body!.subarray(offsets[i], offsets[i + 1]), at(to, i, 0));
      this.#held.set(s, task);
      void this.#queue.add(() => this.#run(task));
    }
  }

  #run(task: HeldTask): PromiseLike<void> | void {
    if (task.finished) return;
    const handler = this.#module!.handler(task.fn);
    if (typeof handler === "string") return this.#finish(task, Status.Error, serializeError(new TypeError(handler)));
    let input: unknown;
    try {
      input = decodeValue(task.payload);
    } catch (err) {
      return this.#finish(task, Status.Error, serializeError(new TypeError(`task input cannot be decoded: ${(err as Error).message}`)));
    }
    task.started = performance.now();
    let out: unknown;
    try {
      out = handler(input, task.ctx);
    } catch (err) {
      return this.#finish(task, Status.Error, serializeError(err));
    }
    if (!isThenable(out)) return this.#finish(task, Status.Ok, out);
    if (task.timeout > 0) return this.#awaitWithTimeout(task, out);
    return out.then(
      (value) => this.#finish(task, Status.Ok, value),
      (err) => this.#finish(task, Status.Error, serializeError(err)),
    );
  }

  #awaitWithTimeout(task: HeldTask, out: PromiseLike<unknown>): Promise<void> {
    return new Promise<void>((resolve) => {
      task.timer = setTimeout(() => {
        const err = new TimeoutError(`task ${task.ctx.id} timed out after ${task.timeout} ms`, { id: task.ctx.id });
        task.ctx.abort(err);
        this.#finish(task, Status.Timeout, serializeError(err));
        resolve();
      }, task.timeout);
      out.then(
        (value) => (this.#finish(task, Status.Ok, value), resolve()),
        (err) => (this.#finish(task, Status.Error, serializeError(err)), resolve()),
      );
    });
  }

  #finish(task: HeldTask, status: number, value: unknown): void {
    if (task.finished) return;
    task.finished = true;
    if (task.timer) clearTimeout(task.timer);
    this.#held.delete(task.seq);
    if (task.started > 0) this.#recordDuration(performance.now() - task.started);
    let bytes: Uint8Array;
    try {
      bytes = encodeValueShared(value);
    } catch (err) {
      status = Status.Error;
      const why = new TypeError(`the result of task ${task.ctx.id} cannot be sent: ${(err as Error).message}`);
      bytes = encodeValue(serializeError(why));
    }
    this.#results.append(bytes);
    this.#resultSeq.push(task.seq);
    this.#resultSt.push(status);
    this.#outbox.wake();
  }

  #onCancel(h: Header): void {
    for (const seq of seqColumn(h)) {
      const task = this.#held.get(seq);
      if (!task) continue;
      const err = new CancelledError(`task ${task.ctx.id} was cancelled`, { id: task.ctx.id });
      task.ctx.abort(err);
      if (task.started === 0) this.#finish(task, Status.Cancelled, serializeError(err));
    }
  }

  /** The broker does not know us (it restarted, or took us for dead): drop what we hold, say Hello again. */
  #onReset(): void {
    if (!this.#ready) return; // a Hello is already on its way
    log("reset by the broker; dropping %d tasks and joining again", this.#held.size);
    for (const task of this.#held.values()) {
      task.finished = true;
      if (task.timer) clearTimeout(task.timer);
      task.ctx.abort(new CancelledError("the broker reset this worker", { id: task.ctx.id }));
    }
    this.#held.clear();
    this.#results.take();
    this.#resultSeq = [];
    this.#resultSt = [];
    this.#ready = false;
    this.#outbox.push([encodeHeader(Kind.Hello, { pid: process.pid, concurrency: this.#config.concurrency })]);
  }

  #produceResults(): Frames | undefined {
    if (this.#resultSeq.length === 0) return undefined;
    const { body, lengths } = this.#results.take();
    const fields: Record<string, unknown> = { seq: this.#resultSeq, st: this.#resultSt, len: lengths };
    this.#resultSeq = [];
    this.#resultSt = [];
    const grant = this.#ready && !this.#stopping ? this.#window() - this.#held.size - (this.#granted - this.#received) : 0;
    if (grant > 0) {
      this.#granted += grant;
      fields.credit = grant;
    }
    return [encodeHeader(Kind.WorkerResults, fields), body];
  }

  /** How many tasks to hold: the running ones plus enough queued to cover PREFETCH_MS of work. */
  #window(): number {
    const c = this.#config.concurrency;
    const prefetch = this.#avgTaskMs < 0 ? 1 : Math.min(MAX_PREFETCH, Math.max(1, Math.round((c * PREFETCH_MS) / Math.max(this.#avgTaskMs, 0.001))));
    return c + prefetch;
  }

  #recordDuration(ms: number): void {
    this.#avgTaskMs = this.#avgTaskMs < 0 ? ms : this.#avgTaskMs * 0.9 + ms * 0.1;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

function chain(first: (() => void) | undefined, second: () => void): () => void {
  return first ? () => (first(), second()) : second;
}
