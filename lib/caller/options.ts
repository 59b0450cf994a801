// LoadBalancer options: their types, defaults and the one function that checks them.
import { availableParallelism } from "node:os";
import { encodeValue } from "../wire/codec.js";
import { moduleUrl } from "../shared/module-url.js";
import { DEFAULT_MAX_MESSAGE_SIZE, parseEndpoint } from "../wire/transport.js";
import { IPC_PATH_LIMIT } from "./ipc-directory.js";
import { boolean, describe, fail, integer, knownNames, milliseconds, MAX_TIMER_MS, type OptionBag } from "../shared/validate.js";
import { curvePublicKeyOf, isCurveKey } from "../wire/z85.js";
import { DEFAULT_RETRY_DELAY } from "../wire/task-controls.js";

export { describe } from "../shared/validate.js";

/** Curve keys for the remote endpoint (Z85 text, 40 characters each). */
export interface CurveOptions {
  /** The broker's public key (Z85); remote workers pass it as `--server-key`. */
  publicKey: string;
  /** The broker's secret key (Z85). Never logged. */
  secretKey: string;
  /** Public keys of the workers allowed to join; absent = any worker that knows the server key. */
  allow?: string[];
}

/**
 * Options of `new LoadBalancer()`.
 *
 * @typeParam WorkerData - the type of `workerData`: what the module's `setup` and handlers read
 * from `ctx.workerData` when the LoadBalancer is typed with its module.
 */
export interface LoadBalancerOptions<WorkerData = unknown> {
  /** The handler module: a path (relative to the current directory) or a file URL. */
  worker: string | URL;
  /**
   * Local worker processes; 0 = remote workers only.
   * @default os.availableParallelism()
   */
  workers?: number;
  /**
   * Tasks one worker process runs at once (useful for async handlers).
   * @default 1
   */
  concurrency?: number;
  /**
   * Most tasks accepted and not yet handed back to the caller, per `map()` and for `send()`.
   * The default keeps batches of small tasks flowing through every stage at once (no-op tasks on 2
   * workers: 4096 runs 1.5× as fast as 1024), and leaves room for every local slot to run a task and
   * hold the next one while results travel back. 8192 is ~1.1× as fast again on no-op tasks, but
   * its larger batches leave more for V8's young-generation GC to copy, and on a long map the
   * caller's young generation (and RSS, by ~9 MB) doubled in two runs of three. A map reaches it by
   * slow start: 64 tasks out at first (or two per local slot, if more), one more per outcome.
   * Large values are bounded by `highWaterMarkBytes` before this.
   * @default max(4096, 2 × workers × concurrency)
   */
  highWaterMark?: number;
  /**
   * A map (and `send()`) also stops taking items while the bytes it holds add up to this: the
   * encoded inputs of its unfinished tasks, the results not yet yielded (or received), and the
   * results still to come, counted as large as those seen so far. Large inputs and large results
   * are bounded by size, not only by count, and a consumer that stalls holds about this much. One
   * input larger than this still goes, alone.
   * @default 67108864 (64 MiB)
   */
  highWaterMarkBytes?: number;
  /** Any MessagePack value, handed to `setup(ctx)` and to handlers as `ctx.workerData`. */
  workerData?: WorkerData;
  /** Default per-task timeout in ms. @default undefined (none) */
  timeout?: number;
  /**
   * Straggler hedging for `map()` and `transform()` (each may say otherwise with its own `hedge`):
   * when no task waits and a worker is idle, a task that has run more than three times the median
   * run time of its map is started again on the idle worker; the first result wins, the other run
   * is cancelled, and the caller sees one result. Handlers should be safe to run twice at once.
   * @default false
   */
  hedge?: boolean;
  /**
   * Runs of one task whose worker died before the task fails with a WorkerExitError.
   * @default 3
   */
  maxAttempts?: number;
  /**
   * ZMTP heartbeat interval between broker and workers, ms. A worker silent for
   * `heartbeatInterval * heartbeatLiveness` is declared dead and its tasks run elsewhere.
   * Heartbeats are answered by ZeroMQ's own I/O thread, so a handler busy in synchronous code
   * does not make its worker look dead.
   * @default 1000
   */
  heartbeatInterval?: number;
  /** @default 3 */
  heartbeatLiveness?: number;
  /**
   * Extra time a worker gets past a task's timeout before it counts as stuck (its event loop
   * blocked, so its own timer cannot fire) and is killed and replaced, ms.
   * @default 1000
   */
  timeoutGrace?: number;
  /**
   * How many completed caller-chosen task ids (`send({ id })`) are remembered, so that sending one
   * again neither runs it nor yields a second result. Generated ids need no such memory.
   * @default 100000
   */
  idMemory?: number;
  /**
   * How long `close()` waits for tasks in flight before failing them and stopping the workers, ms.
   * @default 30000
   */
  closeTimeout?: number;
  /**
   * Also accept remote workers (`zerolb worker`) on this endpoint: `tcp://host:port` (port 0 = any
   * free port; `lb.endpoint` tells which after `ready`) or `ipc://path`. A non-loopback address
   * needs `curve`, or `insecure: true`.
   */
  endpoint?: string;
  /** Encrypt and authenticate the remote endpoint with CurveZMQ (Z85 keys, e.g. from `zerolb keygen`). */
  curve?: CurveOptions;
  /** Allow a non-loopback `endpoint` without `curve` (plain text: anyone who reaches it can join). @default false */
  insecure?: boolean;
  /**
   * Largest message the broker accepts from a remote peer, bytes; a peer that sends a bigger one
   * is disconnected. Bounds what the network can make the broker allocate.
   * @default 67108864 (64 MiB)
   */
  maxMessageSize?: number;
  /**
   * Extra runs of a task whose handler throws, rejects or times out (an error with
   * `retryable: false` fails at once). Apart from `maxAttempts`, which counts worker deaths.
   * `send` and `map` may set their own.
   * @default 0
   */
  retries?: number;
  /**
   * The first retry's delay in ms; each further retry waits twice as long as the one before, with
   * ±50 % jitter, and none more than 30 s. `send` and `map` may set their own.
   * @default 100
   */
  retryDelay?: number;
  /**
   * Replace a local worker process after it has run this many tasks: it takes no new task,
   * finishes what it holds, exits, and a fresh one takes its place (no task lost or run twice;
   * not counted as a crash). For handlers that leak. @default undefined (never)
   */
  maxTasksPerWorker?: number;
  /**
   * Replace a local worker process whose resident memory (RSS) is above this many MiB, checked as
   * it sends results: it takes no new task, finishes what runs, hands back what it has not
   * started, exits and is replaced. @default undefined (no limit)
   */
  maxWorkerMemory?: number;
  /**
   * At most `tasks` task starts in any window of `per` ms, across all workers, local and remote
   * (the broker holds tasks back; each goes to a free slot, so it starts as it arrives).
   * @default undefined (no limit)
   */
  rateLimit?: {
    /** Most task starts in any window of `per` ms. */
    tasks: number;
    /** The window, ms. */
    per: number;
  };
  /** Node flags for local worker processes, e.g. `["--max-old-space-size=512"]`. @default [] */
  execArgv?: string[];
  /** Environment variables for local worker processes, on top of the caller's. @default undefined (the caller's) */
  env?: Record<string, string>;
}

export interface ResolvedOptions {
  moduleUrl: string;
  workers: number;
  concurrency: number;
  highWaterMark: number;
  highWaterMarkBytes: number;
  workerData: Uint8Array;
  timeout: number;
  maxAttempts: number;
  heartbeatInterval: number;
  heartbeatTimeout: number;
  timeoutGrace: number;
  idMemory: number;
  closeTimeout: number;
  endpoint: string | undefined;
  curve: CurveOptions | undefined;
  insecure: boolean;
  maxMessageSize: number;
  hedge: boolean;
  retries: number;
  retryDelay: number;
  maxTasksPerWorker: number | undefined;
  maxWorkerMemory: number | undefined;
  rateLimit: { tasks: number; per: number } | undefined;
  execArgv: string[];
  env: Record<string, string> | undefined;
}

export const DEFAULTS = Object.freeze({
  concurrency: 1,
  highWaterMark: 4096,
  highWaterMarkBytes: 64 * 1024 * 1024,
  maxAttempts: 3,
  heartbeatInterval: 1000,
  heartbeatLiveness: 3,
  timeoutGrace: 1000,
  idMemory: 100_000,
  closeTimeout: 30_000,
  maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
  retries: 0,
  retryDelay: DEFAULT_RETRY_DELAY,
});

/** The names `new LoadBalancer()` takes. */
export const LOAD_BALANCER_OPTIONS: readonly string[] = [
  "worker", "workers", "concurrency", "highWaterMark", "highWaterMarkBytes", "workerData", "timeout", "maxAttempts",
  "heartbeatInterval", "heartbeatLiveness", "timeoutGrace", "idMemory", "closeTimeout", "endpoint", "curve", "insecure",
  "hedge", "maxMessageSize", "retries", "retryDelay", "maxTasksPerWorker", "maxWorkerMemory", "rateLimit", "execArgv", "env",
];
/** Names other pools use for these options. */
const HINTS: Record<string, string> = {
  module: "worker", handler: "worker", filename: "worker", maxThreads: "workers", numWorkers: "workers",
  size: "workers", maxQueue: "highWaterMark", data: "workerData", attempts: "retries", maxRetries: "retries",
  backoff: "retryDelay", maxTasksPerChild: "maxTasksPerWorker", maxtasksperchild: "maxTasksPerWorker", maxTasks: "maxTasksPerWorker",
  maxMemory: "maxWorkerMemory", maxMemoryLimitBeforeRecycle: "maxWorkerMemory", nodeOptions: "execArgv", argv: "execArgv",
  environment: "env", limiter: "rateLimit", rate: "rateLimit", throttle: "rateLimit",
};

/**
 * ZeroMQ keeps a connection's heartbeat time-to-live (ZMQ_HEARTBEAT_TTL, which zerolb sets to
 * `heartbeatInterval × heartbeatLiveness`) in tenths of a second in 16 bits: above 6,553,599 ms
 * setting it fails with a raw EINVAL (and a socket that failed that way crashed the process at
 * exit, measured with zeromq 6.8.0).
 */
export const MAX_HEARTBEAT_TIMEOUT_MS = 65_535 * 100 + 99;

/** Checks options and fills in defaults. Throws a TypeError (code ERR_ZEROLB_INVALID_OPTION). */
export function resolveOptions(input: LoadBalancerOptions): ResolvedOptions {
  if (typeof input !== "object" || input === null || Array.isArray(input)) fail(`options must be an object; received ${describe(input)}`);
  const options = input as unknown as OptionBag;
  knownNames("", options, LOAD_BALANCER_OPTIONS, HINTS);
  const worker = options.worker;
  if (!(worker instanceof URL) && (typeof worker !== "string" || worker === "")) {
    fail(`options.worker must be a module path or file URL; received ${describe(worker)}`);
  }
  if (worker instanceof URL && worker.protocol !== "file:") fail(`options.worker must be a file: URL; received ${worker.href}`);
  let workerData: Uint8Array;
  try {
    workerData = encodeValue(options.workerData ?? null, "workerData");
  } catch (err) {
    fail(`options.workerData cannot be sent to workers: ${(err as Error).message}`);
  }
  const interval = integer("", options, "heartbeatInterval", { min: 10, max: MAX_HEARTBEAT_TIMEOUT_MS }, DEFAULTS.heartbeatInterval);
  const liveness = integer("", options, "heartbeatLiveness", { min: 1, max: MAX_HEARTBEAT_TIMEOUT_MS }, DEFAULTS.heartbeatLiveness);
  if (interval * liveness > MAX_HEARTBEAT_TIMEOUT_MS) {
    fail(
      `options.heartbeatInterval × options.heartbeatLiveness (${interval} × ${liveness} = ${interval * liveness} ms) must be at most ` +
        `${MAX_HEARTBEAT_TIMEOUT_MS} ms (about 109 minutes): ZeroMQ keeps the heartbeat time-to-live in tenths of a second in 16 bits`,
    );
  }
  const timeout = milliseconds("", options, "timeout", 0, undefined, true);
  const endpoint = options.endpoint;
  if (endpoint !== undefined && typeof endpoint !== "string") fail(`options.endpoint must be a string; received ${describe(endpoint)}`);
  const insecure = boolean("", options, "insecure", false);
  const curve = resolveCurve(options.curve);
  if (curve && endpoint === undefined) fail("options.curve needs options.endpoint (curve secures the remote endpoint)");
  if (endpoint !== undefined) {
    const parsed = parseEndpoint(endpoint);
    if (!parsed) fail(`options.endpoint must be "tcp://host:port" (port 0 = any free port) or "ipc://path"; received ${describe(endpoint)}`);
    if (parsed.transport === "ipc" && Buffer.byteLength(endpoint.slice("ipc://".length)) > IPC_PATH_LIMIT) {
      fail(`options.endpoint's ipc path is ${Buffer.byteLength(endpoint.slice("ipc://".length))} bytes; ipc paths can be at most ${IPC_PATH_LIMIT} bytes: choose a shorter one`);
    }
    if (!parsed.loopback && !curve && !insecure) {
      fail(
        `options.endpoint ${describe(endpoint)} is not a loopback address: remote workers there need options.curve ` +
          "(encryption and authentication; create keys with `zerolb keygen`), or options.insecure: true to accept plain-text workers anyway",
      );
    }
  }
  const workers = integer("", options, "workers", { min: 0 }, availableParallelism());
  if (workers === 0 && endpoint === undefined) {
    fail("options.workers is 0 and there is no options.endpoint: no worker could ever take a task. Give workers >= 1, or an endpoint where remote workers (`zerolb worker`) join");
  }
  const concurrency = integer("", options, "concurrency", { min: 1 }, DEFAULTS.concurrency);
  return {
    moduleUrl: moduleUrl(worker as string | URL),
    workers,
    concurrency,
    // The ordered reorder ring is an array of highWaterMark slots: keep it a valid array length.
    highWaterMark: integer("", options, "highWaterMark", { min: 1, max: MAX_TIMER_MS }, Math.max(DEFAULTS.highWaterMark, 2 * workers * concurrency)),
    highWaterMarkBytes: integer("", options, "highWaterMarkBytes", { min: 1 }, DEFAULTS.highWaterMarkBytes),
    workerData,
    timeout: timeout ?? 0,
    maxAttempts: integer("", options, "maxAttempts", { min: 1 }, DEFAULTS.maxAttempts),
    heartbeatInterval: interval,
    heartbeatTimeout: interval * liveness,
    timeoutGrace: milliseconds("", options, "timeoutGrace", 0, DEFAULTS.timeoutGrace),
    idMemory: integer("", options, "idMemory", { min: 0 }, DEFAULTS.idMemory),
    closeTimeout: milliseconds("", options, "closeTimeout", 0, DEFAULTS.closeTimeout),
    endpoint: endpoint as string | undefined,
    curve,
    insecure,
    maxMessageSize: integer("", options, "maxMessageSize", { min: 1024 }, DEFAULTS.maxMessageSize),
    hedge: boolean("", options, "hedge", false),
    retries: integer("", options, "retries", { min: 0, max: 1000 }, DEFAULTS.retries),
    retryDelay: milliseconds("", options, "retryDelay", 0, DEFAULTS.retryDelay),
    maxTasksPerWorker: integer("", options, "maxTasksPerWorker", { min: 1 }),
    maxWorkerMemory: integer("", options, "maxWorkerMemory", { min: 1 }),
    rateLimit: resolveRateLimit(options.rateLimit),
    execArgv: resolveExecArgv(options.execArgv),
    env: resolveEnv(options.env),
  };
}

/** Checks `rateLimit`: { tasks, per }, both whole numbers >= 1. */
function resolveRateLimit(value: unknown): { tasks: number; per: number } | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(`options.rateLimit must be { tasks, per } (at most \`tasks\` starts in any \`per\` ms), e.g. { tasks: 10, per: 1000 }; received ${describe(value)}`);
  const bag = value as OptionBag;
  knownNames("", bag, ["tasks", "per"], { max: "tasks", limit: "tasks", duration: "per", interval: "per", window: "per" }, "rateLimit.");
  const { tasks, per } = bag;
  if (typeof tasks !== "number" || !Number.isInteger(tasks) || tasks < 1 || tasks > 1_000_000) {
    fail(`options.rateLimit.tasks must be a whole number from 1 to 1000000 (task starts per window); received ${describe(tasks)}`);
  }
  if (typeof per !== "number" || !Number.isInteger(per) || per < 1 || per > MAX_TIMER_MS) {
    fail(`options.rateLimit.per must be a whole number of ms from 1 to ${MAX_TIMER_MS} (the window); received ${describe(per)}`);
  }
  return { tasks, per };
}

/** Checks `execArgv`: Node flags, each a string that starts with "-". */
function resolveExecArgv(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(`options.execArgv must be an array of Node flags, e.g. ["--max-old-space-size=512"]; received ${describe(value)}`);
  for (const flag of value) {
    if (typeof flag !== "string" || !flag.startsWith("-")) {
      fail(`options.execArgv holds ${describe(flag)}, not a Node flag (a string starting with "-", e.g. "--max-old-space-size=512")`);
    }
  }
  return [...(value as string[])];
}

/** Checks `env`: an object of string values (a child's environment holds only strings). */
function resolveEnv(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(`options.env must be an object of environment variables, e.g. { LOG_LEVEL: "debug" }; received ${describe(value)}`);
  const env: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (name === "" || name.includes("=") || name.includes("\0")) fail(`options.env has the name ${describe(name)}, which an environment variable cannot have (empty, or with "=" or a NUL)`);
    if (typeof v !== "string") fail(`options.env.${name} must be a string (environment variables are text); received ${describe(v)}: write String(value) if that is what you mean`);
    env[name] = v;
  }
  return env;
}

/** Checks curve keys. Messages never show a secret key, only that it is wrong. */
function resolveCurve(curve: unknown): CurveOptions | undefined {
  if (curve === undefined) return undefined;
  if (typeof curve !== "object" || curve === null || Array.isArray(curve)) fail(`options.curve must be { publicKey, secretKey, allow? }; received ${describe(curve)}`);
  const c = curve as Record<string, unknown>;
  knownNames("", c, ["publicKey", "secretKey", "allow"], {}, "curve.");
  if (!isCurveKey(c.publicKey)) fail(`options.curve.publicKey must be a 40-character Z85 key (see \`zerolb keygen\`); received ${describe(c.publicKey)}`);
  if (!isCurveKey(c.secretKey)) fail("options.curve.secretKey must be a 40-character Z85 key (see `zerolb keygen`); the value given is not one");
  if (curvePublicKeyOf(c.secretKey) !== c.publicKey) fail("options.curve.publicKey does not belong to options.curve.secretKey (they are not one key pair)");
  const allow = c.allow;
  if (allow !== undefined) {
    if (!Array.isArray(allow)) fail(`options.curve.allow must be an array of public keys; received ${describe(allow)}`);
    for (const key of allow) if (!isCurveKey(key)) fail(`options.curve.allow holds ${describe(key)}, not a 40-character Z85 public key`);
  }
  return { publicKey: c.publicKey, secretKey: c.secretKey, ...(allow ? { allow: [...(allow as string[])] } : {}) };
}
