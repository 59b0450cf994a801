// The types a handler module's author writes against: what a handler, setup() and teardown()
// are handed and may return. Types only: the worker's TaskContext class implements
// HandlerContext, and the caller's LoadBalancer reads a module's handler types from them, so
// they live here, below both, and load no code of either.

/**
 * The `ctx` handed to a handler: `handle(data, ctx)`.
 *
 * @typeParam WorkerData - the type of the LoadBalancer's `workerData` option.
 *
 * @example
 * ```ts
 * import type { HandlerContext } from "zerolb";
 *
 * export default async function handle(url: string, ctx: HandlerContext<{ model: string }>) {
 *   const res = await fetch(url, { signal: ctx.signal });
 *   return { url, attempt: ctx.attempt, model: ctx.workerData.model, status: res.status };
 * }
 * ```
 */
export interface HandlerContext<WorkerData = unknown> {
  /** The task id (the one `send` returned, or generated for `map`). */
  readonly id: string;
  /** 1 for the first run; more when a worker died holding this task before. */
  readonly attempt: number;
  /** The LoadBalancer's `workerData` option. */
  readonly workerData: WorkerData;
  /** Aborted when the task times out or is cancelled; `signal.reason` says which. */
  readonly signal: AbortSignal;
}

/**
 * Another name for {@link HandlerContext}: the name of the `ctx` class in earlier versions, so
 * handlers typed `ctx: TaskContext` keep compiling. A type only: nothing to construct.
 *
 * @typeParam WorkerData - the type of the LoadBalancer's `workerData` option.
 */
export type TaskContext<WorkerData = unknown> = HandlerContext<WorkerData>;

/**
 * The `ctx` handed to `setup(ctx)`, once per worker process before its first task.
 *
 * @typeParam WorkerData - the type of the LoadBalancer's `workerData` option.
 */
export interface SetupContext<WorkerData = unknown> {
  /** The LoadBalancer's `workerData` option. */
  readonly workerData: WorkerData;
}

/**
 * A handler function: the default export of a handler module, or a named export chosen with
 * `fn`. It may be sync or async; its input and result travel as MessagePack (see the README's
 * value table).
 *
 * @typeParam In - the task's input (an item of `map`, the data of `send`).
 * @typeParam Out - its result (or what its promise resolves to).
 * @typeParam WorkerData - the type of the LoadBalancer's `workerData` option.
 *
 * @example
 * ```ts
 * import type { Handler } from "zerolb";
 *
 * export const score: Handler<{ text: string }, number> = async ({ text }, ctx) => text.length * ctx.attempt;
 * ```
 */
export type Handler<In = unknown, Out = unknown, WorkerData = unknown> = (data: In, ctx: HandlerContext<WorkerData>) => Out | Promise<Out>;

/**
 * A handler module's optional `setup` export: run once per worker process, before its first
 * task (load a model, open a connection). A throw or rejection fails the start-up with a
 * `StartupError`. What it returns is awaited and otherwise ignored.
 *
 * @typeParam WorkerData - the type of the LoadBalancer's `workerData` option.
 *
 * @example
 * ```ts
 * import type { Setup } from "zerolb";
 *
 * export const setup: Setup<{ model: string }> = async ({ workerData }) => { model = await load(workerData.model); };
 * ```
 */
export type Setup<WorkerData = unknown> = (ctx: SetupContext<WorkerData>) => unknown;

/**
 * A handler module's optional `teardown` export: run once when the worker process stops, after
 * its last task. What it returns is awaited and otherwise ignored.
 */
export type Teardown = () => unknown;
