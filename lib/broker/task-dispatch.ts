// Planning a round of dispatch, done when a backend socket is free (not on every event): the
// scheduler's assignments, within the rate limit if one is set, become one Tasks message per
// worker, queued on that worker's backend; the other backend is woken when it got some too.
import { performance } from "node:perf_hooks";
import type { RateLimit } from "./rate-limit.js";
import type { Scheduler } from "./scheduler.js";
import type { Frames } from "../wire/outbox.js";
import { TasksWriter, type Backend } from "./backend.js";
import { WakeTimer } from "./wake-timer.js";
import type { Workers } from "./workers.js";

export class TaskDispatch {
  readonly #scheduler: Scheduler;
  readonly #workers: Workers;
  readonly #rateLimit: RateLimit | undefined;
  readonly #tasks = new TasksWriter();
  /** Tasks wait and the rate limit allows none now: dispatch again when its window has moved on. */
  readonly #rateWake: WakeTimer;

  constructor(scheduler: Scheduler, workers: Workers, rateLimit: RateLimit | undefined, dispatch: () => void) {
    this.#scheduler = scheduler;
    this.#workers = workers;
    this.#rateLimit = rateLimit;
    this.#rateWake = new WakeTimer(dispatch);
  }

  /** The next Tasks message for `backend`; plans a new round when its list is empty. */
  next(backend: Backend, other: Backend | undefined): Frames | undefined {
    if (backend.planned.length === 0) {
      const now = performance.now();
      const rate = this.#rateLimit;
      const dispatches = this.#scheduler.dispatch(now, rate ? rate.available(now) : Infinity);
      for (const d of dispatches) {
        const peer = this.#workers.peer(d.worker.key);
        if (peer) peer.backend.planned.push(this.#tasks.message(peer, d.tasks));
        rate?.record(now, d.tasks.length);
      }
      if (rate && this.#scheduler.queued > 0 && rate.available(now) === 0) this.#rateWake.at(rate.nextAt);
      if (other && other.planned.length > 0) other.outbox.wake();
    }
    return backend.planned.shift();
  }

  close(): void {
    this.#rateWake.close();
  }
}
