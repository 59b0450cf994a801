// How far `zerolb map` reads ahead of the results it has written. The LoadBalancer takes up to
// `highWaterMark` items ahead; for tasks of milliseconds or more that is minutes of queued work,
// all of which a Ctrl-C would have to wait for or throw away. The pacer keeps about `targetMs` of
// work ahead instead (from the measured rate), never less than `min` (every worker slot busy,
// with one more waiting each) nor more than `max`.

const TICK_MS = 100;

export interface PacerOptions {
  min: number;
  max: number;
  targetMs: number;
}

export class Pacer {
  readonly #min: number;
  readonly #max: number;
  readonly #targetMs: number;
  #window: number;
  #seen = 0;
  #lastSeen = 0;
  #lastAt = Date.now();
  #rate = 0; // results per ms, smoothed
  #waiter: (() => void) | undefined;
  #released = false;
  readonly #timer: NodeJS.Timeout;

  constructor(options: PacerOptions) {
    this.#max = Math.max(1, options.max);
    this.#min = Math.min(this.#max, Math.max(1, options.min));
    this.#targetMs = options.targetMs;
    this.#window = this.#min;
    this.#timer = setInterval(() => this.#measure(), TICK_MS);
    this.#timer.unref();
  }

  /** Items allowed ahead of the results now. */
  get window(): number {
    return this.#window;
  }

  /** One result was written. */
  result(): void {
    this.#seen++;
    // A whole window came back before the next tick: measure now rather than wait for it. At the
    // start of a run of quick tasks the window is `min` (16 here) and a tick 100 ms: the window
    // then opened only a tick after the first results, 40-60 ms into every `zerolb map` run.
    if (this.#window < this.#max && this.#seen - this.#lastSeen >= this.#window) this.#measure();
    this.#wake();
  }

  /**
   * Undefined when fewer than `window` items are ahead; else a promise that resolves once they are
   * (`ahead()` is checked on each result). Not async: the common case, room, costs no promise.
   */
  room(ahead: () => number): Promise<void> | undefined {
    return this.#released || ahead() < this.#window ? undefined : this.#waitForRoom(ahead);
  }

  async #waitForRoom(ahead: () => number): Promise<void> {
    while (!this.#released && ahead() >= this.#window) await new Promise<void>((resolve) => (this.#waiter = resolve));
  }

  /** Lets every wait end (stopping), and stops measuring. */
  release(): void {
    this.#released = true;
    clearInterval(this.#timer);
    this.#wake();
  }

  #measure(): void {
    const now = Date.now();
    const rate = (this.#seen - this.#lastSeen) / Math.max(1, now - this.#lastAt);
    this.#lastSeen = this.#seen;
    this.#lastAt = now;
    // Grow at once when faster, shrink gently when slower (a pause is not a trend).
    this.#rate = rate > this.#rate ? rate : this.#rate * 0.8 + rate * 0.2;
    const window = Math.min(this.#max, Math.max(this.#min, Math.ceil(this.#rate * this.#targetMs)));
    if (window !== this.#window) {
      this.#window = window;
      this.#wake();
    }
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }
}
