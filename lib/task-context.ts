/**
 * The `ctx` handed to a handler: `handle(data, ctx)`.
 *
 * @example
 * ```js
 * export default async function handle(url, ctx) {
 *   const res = await fetch(url, { signal: ctx.signal });
 *   return { url, attempt: ctx.attempt, model: ctx.workerData.model, status: res.status };
 * }
 * ```
 */
export class TaskContext {
  /** The task id (the one `send` returned, or generated for `map`). */
  readonly id: string;
  /** 1 for the first run; more when a worker died holding this task before. */
  readonly attempt: number;
  /** The LoadBalancer's `workerData` option. */
  readonly workerData: unknown;
  // Created on first use: most handlers never look at the signal, and it is not free.
  #controller: AbortController | undefined;

  constructor(id: string, attempt: number, workerData: unknown) {
    this.id = id;
    this.attempt = attempt;
    this.workerData = workerData;
  }

  /** Aborted when the task times out or is cancelled; `signal.reason` says which. */
  get signal(): AbortSignal {
    return (this.#controller ??= new AbortController()).signal;
  }

  /** @internal */
  abort(reason: unknown): void {
    (this.#controller ??= new AbortController()).abort(reason);
  }
}

/** The `ctx` handed to `setup(ctx)`. */
export interface SetupContext {
  /** The LoadBalancer's `workerData` option. */
  workerData: unknown;
}
