// Every error zerolb raises, each with a stable `code`. Every class is branded with Symbol.for(),
// so `instanceof` works for each of them (and for ZerolbError, which they all are) when two copies
// of zerolb are loaded: a TimeoutError from one copy is an instanceof TaskError of the other.

const brand = Symbol.for("zerolb.error");

/**
 * The zerolb classes an error is an instance of, by name, most derived first (ZerolbError always
 * last): what `instanceof` checks across copies. Read only by such a check, so not kept.
 */
function kindsOf(error: object): string[] {
  const kinds: string[] = [];
  for (let proto = Object.getPrototypeOf(error) as object | null; proto && Object.prototype.hasOwnProperty.call(proto, brand); proto = Object.getPrototypeOf(proto)) {
    kinds.push((proto as { constructor: { name: string } }).constructor.name);
  }
  if (!kinds.includes("ZerolbError")) kinds.push("ZerolbError");
  return kinds;
}

/** `instanceof` for a zerolb class: its own prototype chain, or the brand of another copy's error. */
function isInstance(this: abstract new (...args: never[]) => unknown, value: unknown): boolean {
  if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
  if (typeof value !== "object" || value === null || !(brand in value)) return false;
  const kinds = (value as Record<symbol, unknown>)[brand];
  return Array.isArray(kinds) && kinds.includes(this.name);
}

/** Brands a class (and so its subclasses' instances) as a zerolb error, for isInstance(). */
function branded<T extends abstract new (...args: never[]) => object>(cls: T): T {
  Object.defineProperty(cls.prototype, brand, { get(this: object) { return kindsOf(this); }, configurable: true });
  Object.defineProperty(cls, Symbol.hasInstance, { value: isInstance, configurable: true });
  return cls;
}

/** Base class of every zerolb error (those that are TypeErrors or SyntaxErrors too are branded as one). */
export class ZerolbError extends Error {
  /** Stable code: `ERR_ZEROLB`. */
  readonly code: string = "ERR_ZEROLB";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A task failed: its handler threw, or (subclasses) it timed out, its worker died, or a dependency failed. */
export class TaskError extends ZerolbError {
  /** Stable code: `ERR_ZEROLB_TASK_FAILED`. */
  override readonly code: string = "ERR_ZEROLB_TASK_FAILED";
  /** Task id. */
  id: string;
  /** Position of the item in the iterable given to `map` (undefined for `send`). */
  index: number | undefined;
  /**
   * Runs the task took, for a task that reached a worker: 1, plus one per retry after its handler
   * failed (`retries`) and one per run lost with a worker that died (`maxAttempts`).
   */
  attempts?: number;
  constructor(message: string, init: { id: string; index?: number; cause?: unknown }) {
    super(message, { cause: init.cause });
    this.id = init.id;
    this.index = init.index;
  }
}

/** The task ran past its timeout. */
export class TimeoutError extends TaskError {
  /** Stable code: `ERR_ZEROLB_TIMEOUT`. */
  override readonly code = "ERR_ZEROLB_TIMEOUT";
}

/** The task's worker died `maxAttempts` times while holding it. */
export class WorkerExitError extends TaskError {
  /** Stable code: `ERR_ZEROLB_WORKER_EXIT`. */
  override readonly code = "ERR_ZEROLB_WORKER_EXIT";
  /** Runs of the task, each ended by its worker's death (and any retried after a handler failure). */
  override attempts: number;
  /** The exit code of the last local worker that died holding it (undefined if a signal ended it, or remote). */
  exitCode: number | undefined;
  /** The signal that ended the last local worker that died holding it ("SIGKILL"), or undefined. */
  signal: string | undefined;
  /**
   * The last 4 KiB that local worker wrote to standard error before it died (a crash's stack, an
   * out-of-memory message); undefined for remote workers, whose stderr stays on their machine.
   */
  stderr: string | undefined;
  constructor(message: string, init: { id: string; index?: number; cause?: unknown; attempts?: number; exitCode?: number; signal?: string; stderr?: string }) {
    super(message, init);
    this.attempts = init.attempts ?? 0;
    this.exitCode = init.exitCode;
    this.signal = init.signal;
    this.stderr = init.stderr;
  }
}

/** A task named in `after` (or an upstream pipeline job) did not succeed, so this one did not run. */
export class DependencyError extends TaskError {
  /** Stable code: `ERR_ZEROLB_DEPENDENCY_FAILED`. */
  override readonly code = "ERR_ZEROLB_DEPENDENCY_FAILED";
}

/** The task was cancelled (abort signal, `break` out of `map`, or `close()` before it finished). */
export class CancelledError extends TaskError {
  /** Stable code: `ERR_ZEROLB_CANCELLED`. */
  override readonly code = "ERR_ZEROLB_CANCELLED";
}

/** The LoadBalancer is closed (or closing) and takes no more calls. */
export class ClosedError extends ZerolbError {
  /** Stable code: `ERR_ZEROLB_CLOSED`. */
  override readonly code = "ERR_ZEROLB_CLOSED";
}

/** The broker or the workers could not start (module missing, no handler, setup threw, ...). */
export class StartupError extends ZerolbError {
  /** Stable code: `ERR_ZEROLB_STARTUP`. */
  override readonly code = "ERR_ZEROLB_STARTUP";
}

/** The broker process died or stopped answering. */
export class BrokerError extends ZerolbError {
  /** Stable code: `ERR_ZEROLB_BROKER`. */
  override readonly code = "ERR_ZEROLB_BROKER";
}

/** A malformed or unexpected message; dropped and counted, surfaced only in logs and tests. */
export class ProtocolError extends ZerolbError {
  /** Stable code: `ERR_ZEROLB_PROTOCOL`. */
  override readonly code = "ERR_ZEROLB_PROTOCOL";
}

/**
 * A value that cannot travel between processes as it is (a function, a Map, a class instance, a
 * circular structure, ...): a TypeError naming the problem and where it is inside the value.
 */
export class UnsupportedValueError extends TypeError {
  /** Stable code: `ERR_ZEROLB_UNSUPPORTED_VALUE`. */
  readonly code = "ERR_ZEROLB_UNSUPPORTED_VALUE";
  /** Where the value is, e.g. `result.items[3].when`. */
  readonly path: string;
  constructor(message: string, path: string) {
    super(message);
    this.name = "TypeError";
    this.path = path;
  }
}

/** An invalid option: a TypeError (as Node does) with a stable code. */
export class InvalidOptionError extends TypeError {
  /** Stable code: `ERR_ZEROLB_INVALID_OPTION`. */
  readonly code = "ERR_ZEROLB_INVALID_OPTION";
  constructor(message: string) {
    super(message);
    this.name = "TypeError";
  }
}

/** A JSON Lines line that is not JSON: names the file and the line. */
export class JsonLinesError extends SyntaxError {
  /** Stable code: `ERR_ZEROLB_JSONL`. */
  readonly code = "ERR_ZEROLB_JSONL";
  /** The file name given in the options, or `undefined`. */
  readonly file: string | undefined;
  /** 1-based line number within the source. */
  readonly line: number;

  constructor(message: string, init: { file: string | undefined; line: number; cause?: unknown }) {
    super(message, { cause: init.cause });
    this.name = "JsonLinesError";
    this.file = init.file;
    this.line = init.line;
  }
}

for (const cls of [
  ZerolbError, TaskError, TimeoutError, WorkerExitError, DependencyError, CancelledError, ClosedError, StartupError, BrokerError,
  ProtocolError, UnsupportedValueError, InvalidOptionError, JsonLinesError,
]) branded(cls);
