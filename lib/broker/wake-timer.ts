// One timer for "wake me at the earliest of these times": the broker's retries (the earliest task
// waiting for its retry) and its rate limit (when the window lets the next task start) each use
// one, however many tasks wait.
import { performance } from "node:perf_hooks";

export class WakeTimer {
  readonly #wake: () => void;
  #timer: NodeJS.Timeout | undefined;
  #at = 0;
  #closed = false;

  constructor(wake: () => void) {
    this.#wake = wake;
  }

  /** Wake at clock time `at` (performance.now()), or earlier if already set for earlier. */
  at(at: number): void {
    if (this.#closed || (this.#timer && this.#at <= at)) return;
    clearTimeout(this.#timer);
    this.#at = at;
    // +1: a timer may fire a fraction of a millisecond early by the clock it is compared with.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#wake();
    }, Math.max(0, at - performance.now()) + 1);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}
