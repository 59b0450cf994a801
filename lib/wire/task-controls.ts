// The per-task controls a caller may set (retries with backoff, priority, batched handler calls):
// what travels in the optional Submit and Tasks columns `rt`, `rd`, `pr`, `bs` and `bw`. One object
// stands for every task of a map or send call: no object per task on the caller's side, and one per
// message on the broker's when the columns are scalars (they almost always are).

export interface TaskControls {
  /** Extra runs after the handler throws, rejects or times out (0: none). */
  readonly retries: number;
  /** The first retry's delay, ms (doubled for each further one, with jitter; see retryDelayFor). */
  readonly retryDelay: number;
  /** Higher starts first among the tasks waiting in the broker. */
  readonly priority: number;
  /** More than 1: the handler is called with an array of up to this many inputs. */
  readonly batchSize: number;
  /** How long a worker waits for a batch to fill, ms. */
  readonly batchWait: number;
}

export const DEFAULT_RETRY_DELAY = 100;
export const DEFAULT_BATCH_WAIT = 2;
/** No retry delay is longer than this, jitter included. */
export const MAX_RETRY_DELAY = 30_000;

/** What a task gets when its call set no control: the defaults, one shared object. */
export const NO_CONTROLS: TaskControls = Object.freeze({
  retries: 0, retryDelay: DEFAULT_RETRY_DELAY, priority: 0, batchSize: 1, batchWait: DEFAULT_BATCH_WAIT,
});

/** The controls with these values: the shared default object when they are the defaults. */
export function taskControls(retries: number, retryDelay: number, priority: number, batchSize: number, batchWait: number): TaskControls {
  if (retries === 0 && retryDelay === DEFAULT_RETRY_DELAY && priority === 0 && batchSize === 1 && batchWait === DEFAULT_BATCH_WAIT) return NO_CONTROLS;
  return Object.freeze({ retries, retryDelay, priority, batchSize, batchWait });
}

/**
 * How long to wait before the retry that follows the `failures`-th failed run: `retryDelay` for the
 * first, doubled for each further one, times a random factor in [0.5, 1.5) (jitter, so that tasks
 * that failed together do not all come back together), and never more than MAX_RETRY_DELAY.
 */
export function retryDelayFor(controls: TaskControls, failures: number, random: number = Math.random()): number {
  const nominal = Math.min(MAX_RETRY_DELAY, controls.retryDelay * 2 ** Math.max(0, failures - 1));
  return Math.min(MAX_RETRY_DELAY, nominal * (0.5 + random));
}
