// Tells a hung broker from a restarting one. A broker that has been up for a whole liveness period
// and still cannot be reached (the caller's connection lost, no new handshake) is hung: it is
// killed, and its exit restarts it. A broker that died and was restarted reconnects long before.

export interface WatchdogHooks {
  /** Whether the LoadBalancer is running (not starting, closing or failed). */
  running(): boolean;
  /** How long the current broker has been up, ms (0 while it starts). */
  upFor(): number;
  /** Kills the current broker. */
  kill(): void;
}

export class BrokerWatchdog {
  readonly #livenessMs: number;
  readonly #hooks: WatchdogHooks;
  #timer: NodeJS.Timeout | undefined;

  constructor(livenessMs: number, hooks: WatchdogHooks) {
    this.#livenessMs = livenessMs;
    this.#hooks = hooks;
  }

  /** The caller's connection to the broker was lost: check on it after a liveness period. */
  lost(): void {
    if (this.#hooks.running() && !this.#timer) this.#check(this.#livenessMs);
  }

  /** A handshake came through: the broker answers. */
  restored(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #check(delay: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#hooks.running()) return;
      const upFor = this.#hooks.upFor();
      if (upFor < this.#livenessMs) return this.#check(this.#livenessMs - upFor);
      this.#hooks.kill();
    }, delay);
    this.#timer.unref();
  }
}
