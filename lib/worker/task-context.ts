import type { HandlerContext } from "../shared/handler-types.js";

/**
 * The `ctx` a worker hands to a handler: `handle(data, ctx)`. Handler authors see it as the
 * HandlerContext type (lib/shared/handler-types.ts); this class is the worker's and is not exported.
 */
export class TaskContext implements HandlerContext {
  /** 1 for the first run; one more for each run before it (retried after a failure, or lost with a worker that died). */
  readonly attempt: number;
  /** The LoadBalancer's `workerData` option. */
  readonly workerData: unknown;
  // Created on first use: most handlers never look at the signal, and it is not free.
  #controller: AbortController | undefined;
  #id: string;
  readonly #seq: number;

  /** @internal `id` "" means the id generated from `seq`, made on first use (most handlers never read it). */
  constructor(id: string, attempt: number, workerData: unknown, seq = 0) {
    this.#id = id;
    this.#seq = seq;
    this.attempt = attempt;
    this.workerData = workerData;
  }

  /** The task id (the one `send` returned, or generated for `map`). */
  get id(): string {
    return this.#id === "" ? (this.#id = String(this.#seq)) : this.#id;
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
