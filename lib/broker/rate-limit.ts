// rateLimit: at most `tasks` task starts in any window of `per` ms, across every worker. The broker
// dispatches each task to a free slot when a limit is set, so a dispatch is a start (a message's
// travel later). A sliding window: the times of the last `tasks` dispatches, in a ring; the oldest
// says when the next may go.

export class RateLimit {
  readonly #per: number;
  readonly #times: Float64Array;
  /** Index of the oldest of the last `tasks` dispatch times. */
  #oldest = 0;

  constructor(tasks: number, per: number) {
    this.#per = per;
    this.#times = new Float64Array(tasks).fill(-Infinity);
  }

  /** How many tasks may be dispatched at `now`. */
  available(now: number): number {
    const times = this.#times;
    let n = 0;
    while (n < times.length && times[(this.#oldest + n) % times.length]! <= now - this.#per) n++;
    return n;
  }

  /** `count` tasks were dispatched at `now` (never more than available(now)). */
  record(now: number, count: number): void {
    const times = this.#times;
    for (let i = 0; i < count; i++) {
      times[this.#oldest] = now;
      this.#oldest = (this.#oldest + 1) % times.length;
    }
  }

  /** When the next dispatch may go. */
  get nextAt(): number {
    return this.#times[this.#oldest]! + this.#per;
  }
}
