// The options of each call after the constructor (`map`, `transform`, `send`, `close`): their
// names and what each must be, checked with the shared checkers of validate.ts, so every call
// refuses a misspelled or mistyped option the same way, with the same error class and code.
import { Pipeline } from "./pipeline.js";
import type { MapProgress } from "./map-types.js";
import { DEFAULT_BATCH_WAIT } from "../wire/task-controls.js";
import { abortSignal, boolean, callback, describe, fail, integer, knownNames, milliseconds, MAX_TIMER_MS, nonEmptyString, optionsObject, stringArray, type OptionBag } from "../shared/validate.js";

/** The names `map()` takes. */
export const MAP_OPTIONS: readonly string[] = [
  "ordered", "settled", "fn", "timeout", "signal", "pipeline", "onProgress", "total", "hedge", "retries", "retryDelay", "priority", "batchSize", "batchWait",
];
/** The names `transform()` takes: those of `map()` and the stream's buffer sizes. */
export const TRANSFORM_OPTIONS: readonly string[] = [...MAP_OPTIONS, "highWaterMark", "writableHighWaterMark", "readableHighWaterMark"];
/** The names `send()` takes. */
export const SEND_OPTIONS: readonly string[] = ["id", "after", "fn", "signal", "timeout", "retries", "retryDelay", "priority"];
/** The names `close()` takes. */
export const CLOSE_OPTIONS: readonly string[] = ["force"];

/** Names other libraries use for the same things. */
const CALL_HINTS: Record<string, string> = {
  abortSignal: "signal", handler: "fn", function: "fn", method: "fn", name: "fn", progress: "onProgress",
  dependsOn: "after", dependencies: "after", deps: "after", needs: "after", requires: "after",
  unordered: "ordered: false", inOrder: "ordered", allSettled: "settled", timeoutMs: "timeout",
  attempts: "retries", maxRetries: "retries", retry: "retries", backoff: "retryDelay", delay: "retryDelay",
  chunkSize: "batchSize", chunksize: "batchSize", batch: "batchSize", lane: "priority",
};

/** Per-call retries and priority (absent: the LoadBalancer's defaults), as send() and map() take them. */
export interface CheckedControls {
  retries: number | undefined;
  retryDelay: number | undefined;
  priority: number;
}

/** The highest (and, negated, lowest) priority. */
export const MAX_PRIORITY = 2 ** 31 - 1;
/** The largest batchSize. */
export const MAX_BATCH_SIZE = 65_536;

function checkControls(where: string, options: OptionBag): CheckedControls {
  return {
    retries: integer(where, options, "retries", { min: 0, max: 1000 }),
    retryDelay: milliseconds(where, options, "retryDelay", 0, undefined, false),
    priority: integer(where, options, "priority", { min: -MAX_PRIORITY, max: MAX_PRIORITY }, 0),
  };
}

/** `map()` options after checking (`timeout` undefined: the LoadBalancer's default). */
export interface CheckedMapOptions {
  ordered: boolean;
  settled: boolean;
  fn: string;
  timeout: number | undefined;
  signal: AbortSignal | undefined;
  pipeline: Pipeline | undefined;
  onProgress: ((progress: MapProgress) => void) | undefined;
  /** undefined: the LoadBalancer's `hedge`. */
  hedge: boolean | undefined;
  controls: CheckedControls;
  /** Inputs per handler call; 1: one input, not an array. */
  batchSize: number;
  batchWait: number;
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
  const controls = checkControls(where, options);
  const batchSize = integer(where, options, "batchSize", { min: 1, max: MAX_BATCH_SIZE }, 1);
  const batchWait = milliseconds(where, options, "batchWait", 0, DEFAULT_BATCH_WAIT);
  if (pipeline !== undefined) {
    for (const name of ["retries", "retryDelay", "priority", "batchSize", "batchWait"]) {
      if (options[name] !== undefined) fail(`${where}options.${name} cannot go with options.pipeline: pipeline jobs run once each, at the default priority, one input per call`);
    }
  }
  if (options.batchWait !== undefined && batchSize === 1) fail(`${where}options.batchWait needs options.batchSize > 1 (it is how long a worker waits for a batch to fill)`);
  return {
    controls, batchSize, batchWait,
    ordered: boolean(where, options, "ordered", true),
    settled: boolean(where, options, "settled", false),
    fn: fn ?? "",
    timeout: milliseconds(where, options, "timeout", 0, undefined, true),
    signal: abortSignal(where, options, "signal"),
    pipeline,
    onProgress: callback<(progress: MapProgress) => void>(where, options, "onProgress"),
    hedge: options.hedge === undefined ? undefined : boolean(where, options, "hedge", false),
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
  controls: CheckedControls;
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
    controls: checkControls(where, options),
  };
}

/** Checks `close()` options; returns `force`. */
export function checkCloseOptions(input: unknown): boolean {
  const where = "close(): ";
  const options = optionsObject(where, input);
  knownNames(where, options, CLOSE_OPTIONS, { now: "force", forced: "force", immediate: "force", kill: "force" });
  return boolean(where, options, "force", false);
}

/**
 * Options of `lb.map()`.
 *
 * @typeParam Fn - the names `fn` may take (a typed LoadBalancer's handler names).
 * @typeParam Settled - the type of `settled` (`true` makes the map yield rows).
 * @typeParam P - the type of `pipeline`.
 */
export interface MapOptions<Fn extends string = string, Settled extends boolean = boolean, P extends Pipeline<any> | undefined = Pipeline | undefined> {
  /** Results in input order (default) or in completion order. @default true */
  ordered?: boolean;
  /** Yield `{ index, id, ok, value | error }` for every item instead of throwing on the first failure. @default false */
  settled?: Settled;
  /** Name of the exported handler function; the default export when absent. */
  fn?: Fn;
  /** Per-task timeout in ms for this map. */
  timeout?: number;
  /** Aborting stops pulling, cancels queued tasks and ends the iterator with the signal's reason. */
  signal?: AbortSignal;
  /** Run each item through this DAG of jobs; the map yields an object of the sinks' results per item. */
  pipeline?: P;
  /**
   * Called with counts at most every 100 ms while the map runs, and once more (`final: true`) when
   * it ends. Cheap: no timer, it rides on results as they arrive.
   */
  onProgress?: (progress: MapProgress) => void;
  /**
   * Re-run this map's stragglers on idle workers at its tail (see the LoadBalancer's `hedge`).
   * @default the LoadBalancer's `hedge` (false)
   */
  hedge?: boolean;
  /** Extra runs of an item whose handler throws, rejects or times out. @default the LoadBalancer's `retries` (0) */
  retries?: number;
  /** First retry delay in ms, doubled each retry, ±50 % jitter, at most 30 s. @default the LoadBalancer's `retryDelay` (100) */
  retryDelay?: number;
  /** Higher starts first among tasks waiting for a worker; FIFO within a priority. @default 0 */
  priority?: number;
  /**
   * Call the handler with an array of up to this many inputs; it returns an array of as many
   * results. The map still yields one result per item. @default 1 (one input per call, not an array)
   */
  batchSize?: number;
  /** How long a worker waits for a batch to fill before calling the handler with what it has, ms. @default 2 */
  batchWait?: number;
  /**
   * How many items the source will give, for `onProgress`'s `total` and `eta` when the source is
   * not an array (a stream, a generator): a whole number >= 0. An array's length is used without it.
   */
  total?: number;
}

/**
 * Options of `lb.send()`.
 *
 * @typeParam Fn - the names `fn` may take (a typed LoadBalancer's handler names).
 */
export interface SendOptions<Fn extends string = string> {
  /** Task id; generated when absent. A known id is not run again. */
  id?: string;
  /** Ids of tasks that must complete successfully first. */
  after?: readonly string[];
  /** Name of the exported handler function; the default export when absent. */
  fn?: Fn;
  /** Aborting withdraws the task: it never runs if still queued, and `receive()` yields it as cancelled. */
  signal?: AbortSignal;
  /** Timeout in ms. */
  timeout?: number;
  /** Extra runs if the handler throws, rejects or times out. @default the LoadBalancer's `retries` (0) */
  retries?: number;
  /** First retry delay in ms, doubled each retry, ±50 % jitter, at most 30 s. @default the LoadBalancer's `retryDelay` (100) */
  retryDelay?: number;
  /** Higher starts first among tasks waiting for a worker; FIFO within a priority. @default 0 */
  priority?: number;
}

/** Options of `lb.close()`. */
export interface CloseOptions {
  /** Do not wait for tasks in flight: fail them and stop the processes now. @default false */
  force?: boolean;
}
