// What a map yields and reports: the public shapes of its rows and of its progress.

/** One row of a `settled: true` map. */
export type SettledResult<T = unknown> =
  | {
      /** Position of the item in the input. */
      index: number;
      /** The task id. */
      id: string;
      /** It succeeded. */
      ok: true;
      /** The handler's result. */
      value: T;
    }
  | {
      /** Position of the item in the input. */
      index: number;
      /** The task id. */
      id: string;
      /** It failed. */
      ok: false;
      /** Why: a TaskError (or subclass) with a stable `code`. */
      error: Error;
    };

/** What `onProgress` receives. */
export interface MapProgress {
  /** Items that finished successfully. */
  done: number;
  /** Items that failed. */
  failed: number;
  /** Items pulled from the source so far. */
  pulled: number;
  /** Items submitted and not yet finished. */
  pending: number;
  /** Milliseconds since the map started. */
  elapsedMs: number;
  /**
   * Items finished (done or failed) per second over the last 5 seconds (the whole run while it is
   * shorter); on the final call, over the whole run.
   */
  rate: number;
  /** The number of items, when known: the length of an array given to map(), or its `total` option. */
  total?: number;
  /** Milliseconds until the last item is finished at the current `rate`, when `total` is known and `rate` > 0. */
  eta?: number;
  /** True on the last call, when the map has ended. */
  final: boolean;
}
