// The rate of a run and its ETA, computed one way for everyone: a map's onProgress, the CLI's
// progress bar and its closing summary (which disagreed before: 20.8k/s against 12.9k/s for one
// run, one over the last seconds and the other over the whole run).

/** The rate is measured over this much of the recent past. */
export const RATE_WINDOW_MS = 5000;
/** Samples kept are at least this far apart (about 50 in a window, however often it is asked). */
const SAMPLE_SPACING_MS = RATE_WINDOW_MS / 50;

/** Items per second over the last RATE_WINDOW_MS while a run goes; over the whole run at its end. */
export class RateMeter {
  readonly #startedAt: number;
  /** (time, count) pairs, oldest first; the first is at most one window old. */
  #samples: { t: number; n: number }[];

  constructor(startedAt: number) {
    this.#startedAt = startedAt;
    this.#samples = [{ t: startedAt, n: 0 }];
  }

  /**
   * The rate at `now` (ms, the clock `startedAt` came from) with `count` items finished so far:
   * over the last RATE_WINDOW_MS (the whole run while it is shorter), or over the whole run when
   * `final` — the number a summary prints, so the last progress line and the summary agree.
   */
  rate(now: number, count: number, final = false): number {
    if (final) return now > this.#startedAt ? (count * 1000) / (now - this.#startedAt) : 0;
    const last = this.#samples[this.#samples.length - 1]!;
    if (now - last.t >= SAMPLE_SPACING_MS) this.#samples.push({ t: now, n: count });
    while (this.#samples.length > 2 && now - this.#samples[1]!.t >= RATE_WINDOW_MS) this.#samples.shift();
    const first = this.#samples[0]!;
    return now > first.t ? ((count - first.n) * 1000) / (now - first.t) : 0;
  }
}

/** Milliseconds until `total` items are finished at `rate` per second; undefined while the rate is 0. */
export function etaMs(total: number, finished: number, rate: number): number | undefined {
  if (finished >= total) return 0;
  return rate > 0 ? Math.round(((total - finished) * 1000) / rate) : undefined;
}
