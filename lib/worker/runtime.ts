// The worker runtime: joins a broker, loads the handler module, and keeps its session with the
// broker: Hello, Welcome, setup(), Ready, rejoining after a Reset or a new connection, leaving with
// Bye. Running the tasks is runner.ts; the results they send, result-sink.ts. The same runtime
// serves local worker processes and `zerolb worker` on other machines.
import { connectionAddress } from "./connection-address.js";
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import * as zmq from "zeromq";
import { logger } from "../shared/debug.js";
import { ProtocolError, StartupError } from "../shared/errors.js";
import type { WorkerConfig } from "../wire/child-messages.js";
import { decodeValue } from "../wire/codec.js";
import { serializeError } from "../wire/error-wire.js";
import { seqColumn } from "../wire/columns.js";
import { Outbox } from "../wire/outbox.js";
import { decodeHeader, encodeHeader, Kind, type Header } from "../wire/protocol.js";
import { BodyParts } from "../wire/body-parts.js";
import { readTaskBatch } from "../wire/task-batch.js";
import { dealerOptions, LOCAL_RECONNECT, workerDealerOptions } from "../wire/transport.js";
import { loadHandlerModule, type HandlerModule } from "./handler-module.js";
import { describeThrown, ResultSink } from "./result-sink.js";
import { TaskRunner } from "./runner.js";

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
  /**
   * The broker said Goodbye (its LoadBalancer closed for good): `dropped` tasks it held were let go.
   * The runtime then waits for the next broker at the same endpoint (call stop() to exit instead).
   */
  onBrokerClosed?(info: { dropped: number }): void;
  /** setup() threw: the broker was told (Bye with the error) before start() rejects. */
  onSetupFailed?(err: unknown): void;
  /** The worker reached its `maxTasks` or `maxMemoryMiB`: it takes nothing new and should stop(). */
  onRecycle?(reason: string): void;
}

/** How often at most a worker with `maxMemoryMiB` reads its RSS (when it sends results). */
const MEMORY_CHECK_MS = 100;

/** How long a leaving worker waits for the broker to acknowledge its Bye before closing anyway. */
const BYE_WAIT_MS = 2000;

/**
 * The session with the broker, one state at a time: a Hello is out and no Welcome has come
 * ("hello"); Welcome came and setup() (or, on a rejoin, nothing) runs before Ready ("welcomed");
 * Ready was sent and tasks come ("joined"); the broker said Goodbye and the next one is awaited
 * ("parted": a Hello goes out at the next connection); stop() began ("leaving"); the socket is closed.
 */
type Session = "hello" | "welcomed" | "joined" | "parted" | "leaving" | "closed";

export class WorkerRuntime {
  readonly #config: WorkerConfig;
  readonly #events: WorkerEvents;
  readonly #socket: zmq.Dealer;
  readonly #outbox: Outbox;
  readonly #sink: ResultSink;
  readonly #runner: TaskRunner;
  #session: Session = "hello";
  #module: HandlerModule | undefined;
  #setupDone = false;
  #setup: Promise<void> | undefined;
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
  /** Tasks received in this process's life (maxTasks counts them). */
  #taken = 0;
  #memoryCheckedAt = 0;
  /** The recycle was asked for (once). */
  #recycling = false;
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
    this.#sink = new ResultSink((frames) => this.#outbox.push(frames), () => this.#grant());
    // Results wait for the end of the event loop's phase: tasks that end on timers or I/O of one
    // phase (many concurrent async tasks) leave as one message, not one message each.
    this.#outbox = new Outbox(this.#socket, (err) => log("send failed: %O", err), () => this.#sink.take(), setImmediate);
    this.#runner = new TaskRunner(config.concurrency, {
      outbox: this.#outbox, socket: this.#socket, sink: this.#sink, handler: (fn) => this.#module!.handler(fn),
    });
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
      if (this.#session === "parted") return this.#sayHello(); // the next broker at the endpoint
      if (this.#handshakes++ > 0 && this.#session === "joined") this.#rejoin("a new connection to the broker");
    });
    events.on("disconnect", () => {
      const was = this.#connected;
      this.#connected = false;
      this.#byeAcknowledged?.();
      if (was && !this.#leaving && this.#session !== "parted") this.#events.onDisconnect?.();
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

  get #leaving(): boolean {
    return this.#session === "leaving" || this.#session === "closed";
  }

  async #stop(): Promise<void> {
    const wasJoined = this.#session === "joined";
    this.#session = "leaving";
    clearInterval(this.#helloTimer);
    const handedBack = this.#runner.handBack();
    this.#events.onStopping?.({ running: this.#runner.held, handedBack: handedBack.length });
    await this.#runner.onIdle();
    await this.#outbox.onIdle();
    // The results are on their way; Bye follows them on the same connection, and the broker's Reset
    // answering it proves both arrived. Without an answer (the broker is gone), close anyway.
    if (wasJoined && this.#connected) {
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
    this.#session = "closed";
    this.#socket.close();
  }

  /**
   * Hello, and again every so often until a Welcome comes: a Hello can be lost with a broker that
   * dies before answering, or wait behind a stale connection of ours that the broker still holds.
   */
  #sayHello(): void {
    this.#session = "hello";
    // mf: this worker reads Tasks whose body comes in several frames (large inputs as frames of their own).
    const hello: Record<string, unknown> = { pid: process.pid, concurrency: this.#config.concurrency, mf: true };
    if (this.#config.name) hello.name = this.#config.name;
    const message = encodeHeader(Kind.Hello, hello);
    this.#outbox.push([message]);
    clearInterval(this.#helloTimer);
    this.#helloTimer = setInterval(() => {
      if (this.#session !== "hello") return clearInterval(this.#helloTimer);
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

  #onMessage(frames: Buffer[]): void {
    // A message came over the connection, so it is up, whether or not its "handshake" event has been
    // read: zeromq.js reports socket events from a monitor socket of its own, in no fixed order with
    // messages. (A set-up that threw at once after the Welcome found `#connected` still false and
    // left without its Bye.)
    this.#connected = true;
    const h = decodeHeader(frames[0]);
    switch (h.k) {
      case Kind.Welcome:
        return void this.#onWelcome(h, frames[1]);
      case Kind.Tasks:
        // Only a joined worker takes tasks. Leaving: the broker hands back whatever it sent us when
        // our Bye arrives. Between a Reset (or Goodbye) and our next Ready: they were sent before the
        // broker forgot us, and it has requeued them (or closed).
        if (this.#session !== "joined") return;
        {
          const body = BodyParts.of(frames, 1);
          const batch = readTaskBatch(h, body);
          this.#received += batch.seq.length;
          this.#taken += batch.seq.length;
          return this.#runner.accept(batch, body);
        }
      case Kind.Cancel:
        return this.#runner.cancel(seqColumn(h));
      case Kind.Reset:
        return this.#onReset();
      case Kind.Refused:
        return this.#onRefused(h);
      case Kind.Goodbye:
        return this.#onGoodbye();
      default:
        throw new ProtocolError(`kind ${h.k} is not for a worker`);
    }
  }

  async #onWelcome(h: Header, body: Buffer | undefined): Promise<void> {
    // One Welcome per Hello we sent; the broker answers each, so later ones are duplicates.
    if (this.#session !== "hello") return;
    this.#session = "welcomed";
    clearInterval(this.#helloTimer);
    if (Number.isSafeInteger(h.grace) && (h.grace as number) >= 0) this.#runner.grace = h.grace as number;
    this.#sink.multiFrame = h.mf === true;
    this.#sink.maxMessageSize = Number.isSafeInteger(h.maxMessageSize) && (h.maxMessageSize as number) > 0 ? (h.maxMessageSize as number) : 0;
    try {
      // setup() runs once, with the workerData of the first Welcome; later brokers get a Ready.
      await (this.#setup ??= (async () => {
        const workerData = body && body.length > 0 ? decodeValue(body) : undefined;
        this.#runner.workerData = workerData;
        await this.#module!.setup?.({ workerData });
        this.#setupDone = true;
      })());
    } catch (err) {
      await this.#reportSetupFailure(err);
      this.#rejectFatal(new StartupError(`setup() of ${this.#config.module} threw: ${describeThrown(err)}`, { cause: err }));
      return;
    }
    if (this.#session !== "welcomed") return; // reset while setup() ran: a new Hello is out
    this.#granted = this.#capped(this.#runner.window());
    this.#received = 0;
    this.#session = "joined";
    const address = connectionAddress(this.#config.connect); // tcp on Linux: "host:port", for stats()
    this.#outbox.push([encodeHeader(Kind.Ready, { credit: this.#granted, ...(address ? { address } : {}) })]);
    log("ready, credit %d", this.#granted);
    const session = typeof h.session === "string" ? h.session : "";
    const rejoin = this.#joins++ > 0;
    this.#events.onJoin?.({ rejoin, session, credit: this.#granted });
    if (!rejoin) this.#events.onReady?.();
  }

  /**
   * setup() threw: the broker is told with a Bye carrying the error (it logs and counts it), and its
   * Reset (or BYE_WAIT_MS) is awaited so that the Bye leaves before the process does.
   */
  async #reportSetupFailure(err: unknown): Promise<void> {
    this.#events.onSetupFailed?.(err);
    if (this.#session !== "welcomed" || !this.#connected) return;
    this.#session = "leaving";
    const acknowledged = new Promise<void>((resolve) => (this.#byeAcknowledged = resolve));
    this.#outbox.push([encodeHeader(Kind.Bye, { seq: [], error: serializeError(err) })]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([acknowledged, new Promise((resolve) => (timer = setTimeout(resolve, BYE_WAIT_MS)))]);
    clearTimeout(timer);
  }

  /**
   * Goodbye: the LoadBalancer closed for good. What we hold will never be wanted: let it go. The
   * next broker at this endpoint is met with a Hello when its connection comes up.
   */
  #onGoodbye(): void {
    if (this.#leaving || this.#session === "parted") return;
    const dropped = this.#runner.held;
    log("the broker closed; dropping %d tasks", dropped);
    this.#runner.dropAll();
    this.#sink.clear();
    clearInterval(this.#helloTimer);
    this.#session = "parted";
    this.#events.onBrokerClosed?.({ dropped });
  }

  /** The broker will not take this worker (another protocol version): waiting would be for ever. */
  #onRefused(h: Header): void {
    if (this.#leaving) return;
    const reason = typeof h.reason === "string" ? h.reason : "no reason given";
    this.#rejectFatal(new ProtocolError(`the broker refused this worker: ${reason}`));
  }

  /**
   * Reset: the broker does not know us (it restarted, or took us for dead): join again. While
   * leaving, it is the answer to our Bye.
   */
  #onReset(): void {
    if (this.#leaving) return this.#byeAcknowledged?.();
    if (this.#session !== "joined") return; // a Hello is already on its way
    this.#rejoin("reset by the broker");
  }

  /** Drops what we hold (the broker has requeued it, or is a new broker) and says Hello again. */
  #rejoin(why: string): void {
    log("%s; dropping %d tasks and joining again", why, this.#runner.held);
    this.#runner.dropAll();
    this.#sink.clear();
    this.#sayHello();
  }

  /** Credit to grant with the next results: the window, less what is held and what is granted but not yet come. */
  #grant(): number {
    if (this.#session !== "joined" || this.#recycling) return 0;
    if (this.#mustRecycle()) return 0;
    const grant = this.#capped(this.#runner.window() - this.#runner.held - (this.#granted - this.#received));
    if (grant <= 0) return 0;
    this.#granted += grant;
    return grant;
  }

  /** Credit no larger than the tasks left before maxTasks (those granted and not yet come count as taken). */
  #capped(grant: number): number {
    const max = this.#config.maxTasks;
    if (max === undefined) return grant;
    return Math.min(grant, max - this.#taken - (this.#granted - this.#received));
  }

  /**
   * Whether this worker is done (maxTasks run, or RSS above maxMemoryMiB): if so, onRecycle is
   * called (after this turn: it is asked while a results message is being made) and it takes no
   * new task; stop() hands back what it holds and has not started.
   */
  #mustRecycle(): boolean {
    const { maxTasks, maxMemoryMiB } = this.#config;
    let reason: string | undefined;
    if (maxTasks !== undefined && this.#taken >= maxTasks && this.#runner.held === 0) reason = `it ran ${this.#taken} tasks (maxTasksPerWorker ${maxTasks})`;
    else if (maxMemoryMiB !== undefined) {
      const now = performance.now();
      if (now - this.#memoryCheckedAt >= MEMORY_CHECK_MS) {
        this.#memoryCheckedAt = now;
        const rss = process.memoryUsage.rss() / (1 << 20);
        if (rss > maxMemoryMiB) reason = `its RSS is ${Math.round(rss)} MiB (maxWorkerMemory ${maxMemoryMiB})`;
      }
    }
    if (reason === undefined) return false;
    this.#recycling = true;
    log("recycling: %s", reason);
    setImmediate(() => this.#events.onRecycle?.(reason));
    return true;
  }
}

function chain(first: (() => void) | undefined, second: () => void): () => void {
  return first ? () => (first(), second()) : second;
}
