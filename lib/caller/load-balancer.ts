// The public LoadBalancer: checks arguments and forwards to the client (tasks), the supervisor
// (processes) and the map/mailbox (iteration). Its one lifecycle: starting → ready → closing →
// closed, or failed when start-up fails or the broker dies.
import type { BrokerConfig } from "../wire/child-messages.js";
import { Client } from "./client.js";
import { type PendingTask } from "./pending-task.js";
import { logger } from "../shared/debug.js";
import { BrokerError, CancelledError, ClosedError, InvalidOptionError, TaskError, type ZerolbError } from "../shared/errors.js";
import { MapRun } from "./map.js";
import { createTransform, type TransformOptions } from "./transform.js";
import type { Duplex } from "node:stream";
import { checkTaskId, Mailbox, type Result } from "./mailbox.js";
import { resolveOptions, type LoadBalancerOptions, type ResolvedOptions } from "./options.js";
import { DEFAULT_BATCH_WAIT, taskControls } from "../wire/task-controls.js";
import { checkCloseOptions, checkMapOptions, checkSendOptions, type CloseOptions, type MapOptions, type SendOptions } from "./call-options.js";
import { describe } from "../shared/validate.js";
import type { Pipeline } from "./pipeline.js";
import type {
  AnyHandlerOutput, DefaultHandlerName, HandlerInput, HandlerName, MapInput, MapOutput, ModuleWorkerData, PipelineOfModule, UntypedModule,
} from "./module-types.js";
import { statsOf, type Stats } from "./stats.js";
import { prometheusText } from "./metrics.js";
import { Supervisor } from "./supervisor.js";
import { IpcDirectory } from "./ipc-directory.js";
import { EventEmitter } from "node:events";
import { BrokerWatchdog } from "./broker-watchdog.js";
import { emitMembership, emitSafely, retryError, type LoadBalancerEvents } from "./events.js";

/** Pids of a LoadBalancer's child processes. */
export interface WorkerPids {
  /** The broker process. */
  broker: number | undefined;
  /** The local worker processes alive now. */
  workers: number[];
}

type State = "starting" | "ready" | "closing" | "closed" | "failed";

const log = logger("caller");

/** A broker that dies more often than this within BROKER_RESTART_WINDOW_MS is not restarted again. */
const MAX_BROKER_RESTARTS = 5;
const BROKER_RESTART_WINDOW_MS = 60_000;

/** A forced close() gives the broker this long to say Goodbye to remote workers before SIGKILL. */
const FORCED_BROKER_GRACE_MS = 1000;

/**
 * Spreads work over long-lived worker processes through a broker process.
 *
 * Give it the handler module's type to have calls checked against the module's functions and
 * results typed by them: `new LoadBalancer<typeof import("./handler.js")>({ worker })`. Without
 * it, any `fn` goes, and inputs and results are `unknown`.
 *
 * @typeParam M - the handler module's type, `typeof import("./handler.js")`; {@link UntypedModule} when not given.
 *
 * @example
 * ```ts
 * await using lb = new LoadBalancer<typeof import("./handler.js")>({ worker: new URL("./handler.js", import.meta.url), workers: 4 });
 * for await (const result of lb.map(records)) write(result); // result: what handler.js's default export returns, awaited
 * ```
 */
export class LoadBalancer<M extends object = UntypedModule> extends EventEmitter<LoadBalancerEvents> implements AsyncDisposable {
  /** Resolves when the broker is up and (if `workers > 0`) a local worker can take tasks. */
  readonly ready: Promise<void>;
  readonly #options: ResolvedOptions;
  readonly #dir: IpcDirectory;
  readonly #supervisor: Supervisor;
  readonly #client: Client;
  readonly #mailbox: Mailbox;
  #state: State = "starting";
  #failure: ZerolbError | undefined;
  #closing: Promise<void> | undefined;
  #endpoint: string | undefined;
  #brokerRestarts: number[] = [];
  /** Maps between their start and their end: close() stops them taking items. */
  readonly #maps = new Set<MapRun>();
  /** Ids of hedged maps, for the broker's per-map run times. */
  #hedgeGroups = 0;
  /** Ends close()'s wait for tasks in flight early (close({ force: true }) again, or the broker cannot be restarted); set while it waits. */
  #stopWaiting: (() => void) | undefined;
  /** Kills the children at once while close() stops them gracefully (close({ force: true }) again). */
  #killNow: (() => void) | undefined;

  /**
   * Checks the options (throwing an InvalidOptionError naming a wrong one) and starts the broker
   * and worker processes; `ready` resolves when they can take tasks.
   *
   * @param options - `workerData` is typed by the module's `setup` and handlers when the
   * LoadBalancer is given the module's type.
   */
  constructor(options: LoadBalancerOptions<ModuleWorkerData<M>>) {
    super();
    this.#options = resolveOptions(options);
    this.#dir = new IpcDirectory();
    this.#mailbox = new Mailbox(this.#options.highWaterMark, this.#options.highWaterMarkBytes, this.#options.idMemory);
    const heartbeat = { interval: this.#options.heartbeatInterval, timeout: this.#options.heartbeatTimeout };
    const watchdog = new BrokerWatchdog(this.#options.heartbeatTimeout, {
      running: () => this.#state === "ready",
      upFor: () => (this.#supervisor.brokerReadyAt > 0 ? Date.now() - this.#supervisor.brokerReadyAt : 0),
      kill: () => this.#supervisor.killBroker(this.pids.broker),
    });
    // Nothing outlives a constructor that throws (a socket that cannot be made: EMFILE, say): the
    // ipc directory goes with it (Client closes its own socket).
    this.#client = orUndo(() => this.#dir.remove(), () => new Client(this.#dir.endpoint("frontend"), heartbeat, {
      lost: () => watchdog.lost(),
      restored: () => watchdog.restored(),
    }));
    let workerReady!: () => void;
    let fatal!: (err: Error) => void;
    const firstWorker = new Promise<void>((resolve, reject) => ((workerReady = resolve), (fatal = reject)));
    this.#supervisor = new Supervisor({
      workerReady: () => workerReady(),
      fatal: (err) => (fatal(err), this.#fail(err as ZerolbError)),
      brokerExited: (how) => void this.#restartBroker(how),
    });
    this.#client.describeExit = (pid) => this.#supervisor.exitOf(pid);
    this.#client.names = (seq) => this.#mailbox.nameOf(seq);
    this.#client.onMembership = (m) => emitMembership(this, m, (pid, waitMs) => this.#supervisor.exitOf(pid, waitMs));
    this.#client.onRetry = (task, attempt, why, error) => emitSafely(this, "retry", {
      id: task.id, ...(task.index >= 0 ? { index: task.index } : {}), attempt, error: error ?? retryError(task, attempt, why),
    });
    this.ready = this.#start(firstWorker);
    this.ready.catch(() => {}); // rejections reach those who await `ready`, or the next call
  }

  /** The remote endpoint actually bound (port resolved), or undefined. */
  get endpoint(): string | undefined {
    return this.#endpoint;
  }

  /** Pids of the broker and local worker processes (`broker`: undefined before it starts). */
  get pids(): WorkerPids {
    return this.#supervisor.pids;
  }

  #brokerConfig(): BrokerConfig {
    const o = this.#options;
    return {
      frontend: this.#dir.endpoint("frontend"), backend: this.#dir.endpoint("backend"), maxAttempts: o.maxAttempts,
      workerData: o.workerData, heartbeatInterval: o.heartbeatInterval, heartbeatTimeout: o.heartbeatTimeout,
      timeoutGrace: o.timeoutGrace,
      ...(o.rateLimit ? { rateLimit: o.rateLimit } : {}),
      // A restarted broker binds the port the first one resolved, so remote workers find it again.
      remote: o.endpoint === undefined ? undefined : {
        endpoint: this.#endpoint ?? o.endpoint, curve: o.curve, maxMessageSize: o.maxMessageSize, insecure: o.insecure,
      },
    };
  }

  async #start(firstWorker: Promise<void>): Promise<void> {
    const o = this.#options;
    const backend = this.#dir.endpoint("backend");
    const broker = this.#supervisor.startBroker(this.#brokerConfig());
    broker.catch(() => {}); // awaited below; a worker start-up error may come first
    try {
      this.#supervisor.startWorkers(o.workers, {
        connect: backend, module: o.moduleUrl, concurrency: o.concurrency,
        heartbeatInterval: o.heartbeatInterval, heartbeatTimeout: o.heartbeatTimeout,
        ...(o.maxTasksPerWorker === undefined ? {} : { maxTasks: o.maxTasksPerWorker }),
        ...(o.maxWorkerMemory === undefined ? {} : { maxMemoryMiB: o.maxWorkerMemory }),
      }, { execArgv: o.execArgv, env: o.env });
      [this.#endpoint] = await Promise.all([broker, o.workers > 0 ? firstWorker : undefined]);
      // stats() is current from here on: the broker has counted the first worker.
      if (o.workers > 0) await this.#client.statsWhere((s) => s.workers.length > 0);
    } catch (err) {
      this.#fail(err as ZerolbError);
      throw err;
    }
    if (this.#state === "starting") this.#state = "ready";
  }

  /**
   * Runs every item through the handler; yields results in input order unless `ordered: false`.
   *
   * Typed by the module: items are the input of the chosen `fn` (the default export when absent),
   * and the map yields its awaited result; `settled: true` yields {@link SettledResult} rows of it;
   * a `pipeline` takes the input of its root jobs and yields `{ [sink]: that sink's result }`.
   *
   * @typeParam F - the `fn` option, one of the module's handler names.
   * @typeParam S - the `settled` option.
   * @typeParam P - the `pipeline` option.
   */
  map<const F extends HandlerName<M> = DefaultHandlerName<M>, S extends boolean = false, P extends Pipeline<any> | undefined = undefined>(
    items: Iterable<MapInput<M, F, P>> | AsyncIterable<MapInput<M, F, P>>,
    options?: MapOptions<F, S, P> & PipelineOfModule<M, P>,
  ): AsyncIterableIterator<MapOutput<M, F, S, P>> {
    const o = checkMapOptions(options);
    if (items === null || typeof items !== "object" && typeof items !== "function" && typeof items !== "string") {
      throw new InvalidOptionError(`map() needs an Iterable or AsyncIterable; received ${describe(items)}`);
    }
    return new MapRun(() => this.#usable(), items, {
      hwm: this.#options.highWaterMark,
      localSlots: this.#options.workers * this.#options.concurrency,
      hwmBytes: this.#options.highWaterMarkBytes,
      ordered: o.ordered,
      settled: o.settled,
      fn: o.fn,
      timeout: o.timeout ?? this.#options.timeout,
      signal: o.signal,
      pipeline: o.pipeline,
      onProgress: o.onProgress,
      controls: taskControls(
        o.controls.retries ?? this.#options.retries, o.controls.retryDelay ?? this.#options.retryDelay, o.controls.priority, o.batchSize, o.batchWait,
      ),
      total: o.total ?? (Array.isArray(items) ? items.length : undefined),
      live: this.#maps,
      hedgeGroup: (o.hedge ?? this.#options.hedge) ? ++this.#hedgeGroups : 0,
    }) as AsyncIterableIterator<MapOutput<M, F, S, P>>; // the module's types are the caller's word: values come from its worker processes
  }

  /**
   * A Duplex (object mode) for `stream.pipeline(source, lb.transform(), sink)`: items written in,
   * results read out, backpressure honoured both ways. Takes the options of `map()`, checked
   * against the module as `map()` checks them (a Duplex's values are not typed).
   *
   * @typeParam F - the `fn` option, one of the module's handler names.
   * @typeParam S - the `settled` option.
   * @typeParam P - the `pipeline` option.
   */
  transform<const F extends HandlerName<M> = DefaultHandlerName<M>, S extends boolean = false, P extends Pipeline<any> | undefined = undefined>(
    options?: TransformOptions<F, S, P> & PipelineOfModule<M, P>,
  ): Duplex {
    return createTransform(this, options);
  }

  /**
   * Sends one task; resolves to its id. Waits while `highWaterMark` tasks are outstanding.
   * `data` is the input of the chosen `fn` (the default export when absent).
   *
   * @typeParam F - the `fn` option, one of the module's handler names.
   */
  async send<const F extends HandlerName<M> = DefaultHandlerName<M>>(data: HandlerInput<M, F>, options?: SendOptions<F>): Promise<string> {
    const o = checkSendOptions(options);
    if (o.id !== undefined) checkTaskId(o.id);
    const client = await this.#usable();
    return this.#mailbox.send(client, data, {
      fn: o.fn, timeout: o.timeout ?? this.#options.timeout, id: o.id, after: o.after, signal: o.signal,
      controls: taskControls(o.controls.retries ?? this.#options.retries, o.controls.retryDelay ?? this.#options.retryDelay, o.controls.priority, 1, DEFAULT_BATCH_WAIT),
    });
  }

  /** Graphviz DOT of the `send` tasks linked by `after`: each with its state (pending, done, failed). */
  graph(): string {
    return this.#mailbox.graph();
  }

  /**
   * The next finished task of those sent with `send`, in completion order.
   *
   * @typeParam T - the result's type: by default any handler's awaited result (tasks of every
   * `fn` come back here); name one when you know which `fn` this task ran.
   */
  async receive<T = AnyHandlerOutput<M>>(): Promise<Result<T>> {
    if (this.#state === "failed" || this.#state === "closed") {
      // Outcomes already in hand are still handed out.
    }
    return this.#mailbox.receive() as Promise<Result<T>>;
  }

  /** Counts of tasks and workers. */
  stats(): Stats {
    return { ...statsOf(this.#client, this.#supervisor), brokerRestarts: this.#brokerRestarts.length };
  }

  /**
   * The counters and gauges of `stats()` in the Prometheus text exposition format (names prefixed
   * `zerolb_`, per-worker series labelled with the worker's index, id, pid and locality): what a
   * `/metrics` endpoint serves.
   */
  metrics(): string {
    return prometheusText(this.stats());
  }

  /**
   * The broker died: start a new one on the same endpoints (workers and this caller reconnect by
   * themselves, and the caller re-sends every task not yet finished). A new broker that dies while
   * it starts is one more death of the same budget (MAX_BROKER_RESTARTS within
   * BROKER_RESTART_WINDOW_MS), not the end: only past the budget does everything fail with a
   * BrokerError.
   */
  async #restartBroker(how: string): Promise<void> {
    // While close() waits, the tasks in flight still need a broker to finish: it is restarted too.
    const running = () => this.#state === "ready" || this.#state === "starting" || (this.#state === "closing" && this.#stopWaiting !== undefined);
    for (let attempt = 0; running(); attempt++) {
      const now = Date.now();
      this.#brokerRestarts.push(now);
      const recent = this.#brokerRestarts.filter((t) => now - t < BROKER_RESTART_WINDOW_MS).length;
      if (recent > MAX_BROKER_RESTARTS) {
        const error = new BrokerError(`the broker process died (${how}), ${recent} times in ${BROKER_RESTART_WINDOW_MS / 1000} s; giving up`);
        if (this.#state === "closing") return this.#stopWaiting?.(); // what is left fails as close() ends
        return this.#fail(error);
      }
      log("broker died (%s); starting a new one, then re-sending %d tasks", how, this.#client.outstanding);
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
      if (!running()) break;
      try {
        await this.#supervisor.startBroker(this.#brokerConfig());
        emitSafely(this, "brokerRestart", { reason: how, restarts: this.#brokerRestarts.length });
        return;
      } catch (err) {
        how = (err as Error).message;
      }
    }
  }

  /**
   * Stops taking tasks (maps stop pulling items, waiting sends are refused), lets those in flight
   * finish (unless `force`) for up to `closeTimeout`, fails what is left with CancelledError, stops
   * every child process and removes the ipc files. Idempotent; `close({ force: true })` while an
   * earlier close() waits stops waiting.
   */
  close(options?: CloseOptions): Promise<void> {
    let force: boolean;
    try {
      force = checkCloseOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#closing) {
      if (force) {
        this.#stopWaiting?.();
        this.#killNow?.();
      }
      return this.#closing;
    }
    this.#closing = this.#close(force);
    return this.#closing;
  }

  /** `await using lb = new LoadBalancer(…)`: the same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(force: boolean): Promise<void> {
    if (this.#state !== "failed") this.#state = "closing";
    const closed = new ClosedError("the LoadBalancer is closed");
    for (const map of this.#maps) map.endSource(new ClosedError("the LoadBalancer was closed before this map took all its items"));
    this.#mailbox.refuseSenders(closed);
    if (!force && this.#state === "closing" && this.#client.outstanding > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#client.onIdle(),
        new Promise<void>((resolve) => {
          this.#stopWaiting = resolve;
          timer = setTimeout(resolve, this.#options.closeTimeout);
        }),
      ]);
      clearTimeout(timer);
    }
    this.#stopWaiting = undefined;
    this.#client.failAll(closed, (task) => new CancelledError(`task ${task.id} did not finish before close()`, { id: task.id, index: indexOf(task) }));
    this.#mailbox.close(this.#failure ?? closed);
    await this.#client.flush(); // cancels of tasks withdrawn just before close() reach the broker
    // Even a forced close lets the broker tell its remote workers (Goodbye, within about 0.6 s).
    const stopped = this.#supervisor.stop(force ? 0 : 5000, force ? FORCED_BROKER_GRACE_MS : 5000);
    this.#killNow = () => void this.#supervisor.stop(0); // a forced close() now kills what is left
    await stopped;
    this.#killNow = undefined;
    this.#client.close();
    this.#dir.remove();
    if (this.#state !== "failed") this.#state = "closed";
  }

  async #usable(): Promise<Client> {
    if (this.#state === "starting") await this.ready;
    if (this.#failure) throw this.#failure;
    if (this.#state !== "ready") throw new ClosedError("the LoadBalancer is closed");
    return this.#client;
  }

  #fail(error: ZerolbError): void {
    if (this.#failure || this.#state === "closed" || this.#state === "closing") return;
    this.#failure = error;
    this.#state = "failed";
    this.#client.failAll(error, (task) => new TaskError(`task ${task.id} failed: ${error.message}`, { id: task.id, index: indexOf(task), cause: error }));
    this.#mailbox.close(error);
    void this.#supervisor.stop(0);
  }
}

function indexOf(task: PendingTask): number | undefined {
  return task.index >= 0 ? task.index : undefined;
}

/** `make()`, or, if it throws, `undo()` and the same throw. */
function orUndo<T>(undo: () => void, make: () => T): T {
  try {
    return make();
  } catch (err) {
    try {
      undo();
    } catch {
      // the first error is the one to report
    }
    throw err;
  }
}
