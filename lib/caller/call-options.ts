// The options of each call after the constructor (`map`, `transform`, `send`, `close`): their
// names and what each must be, checked with the shared checkers of validate.ts, so every call
// refuses a misspelled or mistyped option the same way, with the same error class and code.
import { Pipeline } from "./pipeline.js";
import type { MapProgress } from "./map-types.js";
import { abortSignal, boolean, callback, describe, fail, integer, knownNames, milliseconds, MAX_TIMER_MS, nonEmptyString, optionsObject, stringArray } from "../shared/validate.js";

/** The names `map()` takes. */
export const MAP_OPTIONS: readonly string[] = ["ordered", "settled", "fn", "timeout", "signal", "pipeline", "onProgress", "total"];
/** The names `transform()` takes: those of `map()` and the stream's buffer sizes. */
export const TRANSFORM_OPTIONS: readonly string[] = [...MAP_OPTIONS, "highWaterMark", "writableHighWaterMark", "readableHighWaterMark"];
/** The names `send()` takes. */
export const SEND_OPTIONS: readonly string[] = ["id", "after", "fn", "signal", "timeout"];
/** The names `close()` takes. */
export const CLOSE_OPTIONS: readonly string[] = ["force"];

/** Names other libraries use for the same things. */
const CALL_HINTS: Record<string, string> = {
  abortSignal: "signal", handler: "fn", function: "fn", method: "fn", name: "fn", progress: "onProgress",
  dependsOn: "after", dependencies: "after", deps: "after", needs: "after", requires: "after",
  unordered: "ordered: false", inOrder: "ordered", allSettled: "settled", timeoutMs: "timeout",
};

/** `map()` options after checking (`timeout` undefined: the LoadBalancer's default). */
export interface CheckedMapOptions {
  ordered: boolean;
  settled: boolean;
  fn: string;
  timeout: number | undefined;
  signal: AbortSignal | undefined;
  pipeline: Pipeline | undefined;
  onProgress: ((progress: MapProgress) => void) | undefined;
  total: number | undefined;
}

/** Checks `map()` options; `where` names the call in messages (`transform()` checks them too). */
export function checkMapOptions(input: unknown, where = "map(): "): CheckedMapOptions {
  const options = optionsObject(where, input);
  knownNames(where, options, where === "transform(): " ? TRANSFORM_OPTIONS : MAP_OPTIONS, CALL_HINTS);
  const pipeline = options.pipeline;
  if (pipeline !== undefined && !(pipeline instanceof Pipeline)) fail(`${where}options.pipeline must be a Pipeline (new Pipeline({ … })); received ${describe(pipeline)}`);
  const fn = nonEmptyString(where, options, "fn");
  if (pipeline !== undefined && fn !== undefined) fail(`${where}options.fn and options.pipeline cannot go together: each job of a pipeline names its own fn`);
  return {
    ordered: boolean(where, options, "ordered", true),
    settled: boolean(where, options, "settled", false),
    fn: fn ?? "",
    timeout: milliseconds(where, options, "timeout", 0, undefined, true),
    signal: abortSignal(where, options, "signal"),
    pipeline,
    onProgress: callback<(progress: MapProgress) => void>(where, options, "onProgress"),
    total: integer(where, options, "total", { min: 0 }),
  };
}

/** `transform()` options after checking: the stream's sizes (the rest are `map()`'s, checked too). */
export interface CheckedTransformOptions {
  highWaterMark: number | undefined;
  writableHighWaterMark: number;
  readableHighWaterMark: number;
}

/** Checks `transform()` options: the stream's buffer sizes here, the map's through checkMapOptions. */
export function checkTransformOptions(input: unknown): CheckedTransformOptions {
  const where = "transform(): ";
  checkMapOptions(input, where);
  const options = optionsObject(where, input);
  return {
    highWaterMark: integer(where, options, "highWaterMark", { min: 1, max: MAX_TIMER_MS }),
    writableHighWaterMark: integer(where, options, "writableHighWaterMark", { min: 0, max: MAX_TIMER_MS }, 16),
    readableHighWaterMark: integer(where, options, "readableHighWaterMark", { min: 0, max: MAX_TIMER_MS }, 16),
  };
}

/** `send()` options after checking. */
export interface CheckedSendOptions {
  id: string | undefined;
  after: string[] | undefined;
  fn: string;
  signal: AbortSignal | undefined;
  timeout: number | undefined;
}

/** Checks `send()` options. */
export function checkSendOptions(input: unknown): CheckedSendOptions {
  const where = "send(): ";
  const options = optionsObject(where, input);
  knownNames(where, options, SEND_OPTIONS, CALL_HINTS);
  return {
    id: nonEmptyString(where, options, "id"),
    after: stringArray(where, options, "after", "task ids"),
    fn: nonEmptyString(where, options, "fn") ?? "",
    signal: abortSignal(where, options, "signal"),
    timeout: milliseconds(where, options, "timeout", 0, undefined, true),
  };
}

/** Checks `close()` options; returns `force`. */
export function checkCloseOptions(input: unknown): boolean {
  const where = "close(): ";
  const options = optionsObject(where, input);
  knownNames(where, options, CLOSE_OPTIONS, { now: "force", forced: "force", immediate: "force", kill: "force" });
  return boolean(where, options, "force", false);
}

/** Options of `lb.map()`. */
export interface MapOptions {
  /** Results in input order (default) or in completion order. @default true */
  ordered?: boolean;
  /** Yield `{ index, id, ok, value | error }` for every item instead of throwing on the first failure. @default false */
  settled?: boolean;
  /** Name of the exported handler function; the default export when absent. */
  fn?: string;
  /** Per-task timeout in ms for this map. */
  timeout?: number;
  /** Aborting stops pulling, cancels queued tasks and ends the iterator with the signal's reason. */
  signal?: AbortSignal;
  /** Run each item through this DAG of jobs; the map yields an object of the sinks' results per item. */
  pipeline?: Pipeline;
  /**
   * Called with counts at most every 100 ms while the map runs, and once more (`final: true`) when
   * it ends. Cheap: no timer, it rides on results as they arrive.
   */
  onProgress?: (progress: MapProgress) => void;
  /**
   * How many items the source will give, for `onProgress`'s `total` and `eta` when the source is
   * not an array (a stream, a generator): a whole number >= 0. An array's length is used without it.
   */
  total?: number;
}

/** Options of `lb.send()`. */
export interface SendOptions {
  /** Task id; generated when absent. A known id is not run again. */
  id?: string;
  /** Ids of tasks that must complete successfully first. */
  after?: string[];
  /** Name of the exported handler function; the default export when absent. */
  fn?: string;
  /** Aborting withdraws the task: it never runs if still queued, and `receive()` yields it as cancelled. */
  signal?: AbortSignal;
  /** Timeout in ms. */
  timeout?: number;
}

/** Options of `lb.close()`. */
export interface CloseOptions {
  /** Do not wait for tasks in flight: fail them and stop the processes now. @default false */
  force?: boolean;
}
