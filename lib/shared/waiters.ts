// Promises that resolve when something becomes true: "nothing outstanding", "socket idle", "no
// slot busy". `until()` resolves at once when the condition already holds, as p-queue's onIdle().

export class Waiters {
  #resolvers: (() => void)[] = [];

  /** Resolves now if `now` is true, else at the next wake(). */
  until(now: boolean): Promise<void> {
    if (now) return Promise.resolve();
    return new Promise((resolve) => this.#resolvers.push(resolve));
  }

  /** Whether anyone waits. */
  get waiting(): boolean {
    return this.#resolvers.length > 0;
  }

  /** Resolves everyone waiting. */
  wake(): void {
    if (this.#resolvers.length === 0) return;
    const resolvers = this.#resolvers;
    this.#resolvers = [];
    for (const resolve of resolvers) resolve();
  }
}
