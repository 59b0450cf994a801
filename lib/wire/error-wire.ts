// How a thrown error crosses a process boundary: made plain data that MessagePack carries
// (serializeError, in the worker) and rebuilt as an Error (deserializeError, in the caller).
// What travels: name, message, stack, code, the cause chain (recursively), an AggregateError's
// `errors`, and the own enumerable fields whose values are data (numbers, strings, nested plain
// objects and arrays, ...). Everything is bounded (depth, fields, items, total values), and
// serializeError never throws, whatever it is given: a handler's error is reported even when it
// is hostile (a throwing getter, a Proxy, a circular cause, a thenable whose `then` throws).
import { types } from "node:util";

/** Error information as it travels over the wire (a worker's thrown error, made plain). */
export interface RemoteError {
  /** The error's class name, e.g. "RangeError". */
  name: string;
  /** Its message. */
  message: string;
  /** Its stack trace, as the worker saw it. */
  stack?: string;
  /** Its `code`, when it had one. */
  code?: string;
  /** Its `cause`: an error value when the cause was an Error, else the cause as data. */
  cause?: unknown;
  /** An AggregateError's `errors`, each an error value (or data, for what is not an Error). */
  errors?: unknown[];
  /** A thrown value that was not an Error, as data (its description is the message). */
  thrown?: unknown;
  [key: string]: unknown;
}

/** Causes (and `errors` inside errors) followed this deep; below, a note says the chain goes on. */
export const MAX_ERROR_DEPTH = 16;
/** Nested objects and arrays inside one field followed this deep. */
const MAX_DATA_DEPTH = 10;
/** Fields kept per object, items per array. */
const MAX_KEYS = 256;
const MAX_ITEMS = 1024;
/** Values kept in one serialized error, all told: a field holding a huge graph is cut short. */
const MAX_VALUES = 5000;
/** Longest JSON rendering of a thrown non-Error value in a message. */
const MAX_RENDERING = 1000;

const TRUNCATED = "[truncated]";
const CIRCULAR = "[Circular]";
/** What a field becomes when its value is not data (a function, a symbol, undefined): left out. */
const DROP = Symbol("drop");
/** Fields serializeError writes itself, never copied as own fields. */
const OWN_FIELDS = new Set(["name", "message", "stack", "code", "cause", "errors"]);

/**
 * Turns anything thrown into plain data that MessagePack carries. Never throws: what cannot be
 * read is left out, and if even that fails the result says so.
 */
export function serializeError(err: unknown): RemoteError {
  try {
    return new ErrorWriter().error(err, 0);
  } catch (inner) {
    // Not expected (every read below is guarded); the error is still reported, never lost.
    return { name: "Error", message: `an error was thrown that could not be described (${safeString(inner)})` };
  }
}

/** True for an Error (of any realm) without trusting a Proxy's traps not to throw. */
export function isError(value: unknown): value is Error {
  if (typeof value !== "object" || value === null) return false;
  try {
    return value instanceof Error || types.isNativeError(value);
  } catch {
    return false;
  }
}

class ErrorWriter {
  #values = 0;
  /** Objects and errors on the path from the root to where the writer is: a repeat is a cycle. */
  readonly #path = new Set<object>();

  error(err: unknown, depth: number): RemoteError {
    if (!isError(err)) return nonError(err, this);
    this.#values++;
    this.#path.add(err);
    try {
      const name = read(err, "name");
      const message = read(err, "message");
      const out: RemoteError = {
        name: typeof name === "string" && name !== "" ? name : "Error",
        message: typeof message === "string" ? message : message === undefined ? "" : safeString(message),
      };
      const stack = read(err, "stack");
      if (typeof stack === "string") out.stack = stack;
      const code = read(err, "code");
      if (typeof code === "string" || typeof code === "number") out.code = String(code);
      for (const key of ownKeys(err)) {
        if (OWN_FIELDS.has(key) || key === "__proto__") continue;
        const value = this.data(read(err, key), 1);
        if (value !== DROP) out[key] = value;
      }
      if (hasOwn(err, "cause")) {
        const cause = this.nested(read(err, "cause"), depth);
        if (cause !== DROP) out.cause = cause;
      }
      const errors = hasOwn(err, "errors") ? read(err, "errors") : undefined;
      if (Array.isArray(errors)) {
        const list: unknown[] = [];
        for (let i = 0; i < Math.min(errors.length, MAX_ITEMS); i++) {
          const item = this.nested(read(errors, String(i)), depth);
          list.push(item === DROP ? null : item);
        }
        if (errors.length > MAX_ITEMS) list.push(TRUNCATED);
        out.errors = list;
      }
      return out;
    } finally {
      this.#path.delete(err);
    }
  }

  /** A cause or an item of `errors`: an error value for an Error, else data. */
  nested(value: unknown, depth: number): unknown {
    if (!isError(value)) return this.data(value, 1);
    if (this.#path.has(value)) return CIRCULAR;
    if (depth + 1 >= MAX_ERROR_DEPTH || this.#values >= MAX_VALUES) {
      return { name: "Error", message: `[the cause chain goes on past ${MAX_ERROR_DEPTH} errors]` };
    }
    return this.error(value, depth + 1);
  }

  /** A field's value as data MessagePack carries, or DROP. */
  data(value: unknown, depth: number): unknown {
    switch (typeof value) {
      case "string":
      case "boolean":
      case "number":
        return value;
      case "bigint":
        // MessagePack carries 64 bits; a larger bigint is kept as its digits.
        return value >= -(2n ** 63n) && value < 2n ** 64n ? value : value.toString();
      case "undefined":
      case "function":
      case "symbol":
        return DROP;
    }
    if (value === null) return null;
    const object = value as object;
    if (++this.#values > MAX_VALUES) return TRUNCATED;
    if (this.#path.has(object)) return CIRCULAR;
    try {
      return this.#object(object, depth);
    } catch {
      return "[unreadable]"; // a Proxy whose traps throw
    }
  }

  #object(object: object, depth: number): unknown {
    if (object instanceof Date) return Number.isNaN(object.getTime()) ? "Invalid Date" : object;
    if (object instanceof Uint8Array) return object;
    if (ArrayBuffer.isView(object)) {
      return "length" in object ? Array.from(object as unknown as ArrayLike<number | bigint>).slice(0, MAX_ITEMS) : DROP;
    }
    if (isError(object)) return depth >= MAX_DATA_DEPTH ? TRUNCATED : this.error(object, MAX_ERROR_DEPTH - 2);
    if (depth >= MAX_DATA_DEPTH) return TRUNCATED;
    if (object instanceof Map || object instanceof Set || object instanceof WeakMap || object instanceof WeakSet || object instanceof Promise) return DROP;
    this.#path.add(object);
    try {
      if (Array.isArray(object)) {
        const out: unknown[] = [];
        const n = Math.min(object.length, MAX_ITEMS);
        for (let i = 0; i < n; i++) {
          const item = this.data(read(object, String(i)), depth + 1);
          out.push(item === DROP ? null : item);
        }
        if (object.length > MAX_ITEMS) out.push(TRUNCATED);
        return out;
      }
      // A plain object, or a class instance: its own enumerable fields (its class does not travel).
      const out: Record<string, unknown> = {};
      let kept = 0;
      for (const key of ownKeys(object)) {
        if (key === "__proto__") continue;
        if (kept++ >= MAX_KEYS) {
          out["..."] = TRUNCATED;
          break;
        }
        const item = this.data(read(object, key), depth + 1);
        if (item !== DROP) out[key] = item;
      }
      return out;
    } finally {
      this.#path.delete(object);
    }
  }
}

/** A thrown value that is not an Error: described by its type and a JSON rendering, and kept as data. */
function nonError(value: unknown, writer: ErrorWriter): RemoteError {
  const out: RemoteError = { name: "Error", message: `non-error thrown (${typeName(value)}): ${render(value)}` };
  const data = writer.data(value, 1);
  if (data !== DROP) out.thrown = data;
  return out;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value !== "object") return typeof value;
  try {
    const name = Object.getPrototypeOf(value)?.constructor?.name;
    return typeof name === "string" && name !== "" && name !== "Object" ? `${name} object` : "object";
  } catch {
    return "object";
  }
}

/** JSON text of a value, bounded; never throws (a cycle, a bigint, a throwing toJSON or getter). */
function render(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "function") return `[function ${safeString((value as { name?: unknown }).name) || "anonymous"}]`;
  if (typeof value === "symbol" || typeof value === "bigint") return safeString(value);
  let text: string | undefined;
  try {
    const ancestors: unknown[] = [];
    text = JSON.stringify(value, function (this: unknown, _key, v: unknown) {
      if (typeof v === "bigint") return `${v}n`;
      if (typeof v !== "object" || v === null) return v;
      // `this` is the object holding v: drop the ancestors that are no longer on the path.
      while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop();
      if (ancestors.includes(v)) return CIRCULAR;
      ancestors.push(v);
      return v;
    });
  } catch {
    text = undefined;
  }
  if (text === undefined) text = safeString(value);
  return text.length > MAX_RENDERING ? `${text.slice(0, MAX_RENDERING)}…` : text;
}

function read(object: object, key: string): unknown {
  try {
    return (object as Record<string, unknown>)[key];
  } catch {
    return undefined; // a getter (or a Proxy trap) that throws: the field is left out
  }
}

function ownKeys(object: object): string[] {
  try {
    return Object.keys(object);
  } catch {
    return [];
  }
}

function hasOwn(object: object, key: string): boolean {
  try {
    return Object.hasOwn(object, key);
  } catch {
    return false;
  }
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return `[${typeof value}]`;
  }
}

const BUILT_IN: Record<string, new (message: string) => Error> = {
  Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError,
};

/** An error value: a map with a string `name` and `message` (what serializeError makes of an Error). */
function isErrorValue(value: unknown): value is RemoteError {
  return typeof value === "object" && value !== null && typeof (value as RemoteError).name === "string" && typeof (value as RemoteError).message === "string";
}

/**
 * Rebuilds an Error from wire data: the built-in class its name names (TypeError, RangeError,
 * AggregateError, ...) or a plain Error with that name, with its stack, code and own fields; its
 * cause and `errors` rebuilt the same way where they are error values.
 */
export function deserializeError(data: unknown, depth = 0): Error {
  if (typeof data !== "object" || data === null) return new Error(typeof data === "string" ? data : safeString(data));
  const info = data as Partial<RemoteError>;
  const message = typeof info.message === "string" ? info.message : info.message === undefined ? "unknown error" : safeString(info.message);
  const name = typeof info.name === "string" ? info.name : "Error";
  const err = name === "AggregateError" ? new AggregateError([], message) : new (Object.hasOwn(BUILT_IN, name) ? BUILT_IN[name]! : Error)(message);
  for (const [key, value] of Object.entries(info)) {
    if (key === "message" || key === "cause" || key === "errors" || key === "__proto__") continue;
    (err as unknown as Record<string, unknown>)[key] = value;
  }
  if (err.name !== name) err.name = name;
  if (typeof info.stack === "string") err.stack = info.stack;
  const rebuild = (value: unknown) => (isErrorValue(value) && depth < MAX_ERROR_DEPTH ? deserializeError(value, depth + 1) : value);
  // As on a native error: `cause` and an AggregateError's `errors` are own, non-enumerable.
  if (Object.hasOwn(info, "cause")) Object.defineProperty(err, "cause", { value: rebuild(info.cause), writable: true, configurable: true, enumerable: false });
  if (Array.isArray(info.errors)) {
    Object.defineProperty(err, "errors", { value: info.errors.map(rebuild), writable: true, configurable: true, enumerable: name !== "AggregateError" });
  }
  return err;
}
