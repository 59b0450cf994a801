// What a task's result will probably weigh, from the results seen so far: a map or send() that
// stops taking work at `highWaterMarkBytes` must count the results still to come, not only the
// inputs out and the results already here. Tasks with small inputs and large results (1 KiB in,
// 1 MiB out) would otherwise fill memory with results while the inputs look light.

/** Weight of the newest result in the running estimate. */
const NEWEST = 1 / 8;

export class ResultSizes {
  #typical = 0;

  /**
   * Bytes to expect per result still to come: a moving average of those seen, but never less than
   * half the largest of the last few, so that a run of large results is counted as soon as it
   * starts. 0 before the first result: until then a map's slow start bounds what is out.
   */
  get typical(): number {
    return this.#typical;
  }

  add(bytes: number): void {
    const average = this.#typical + (bytes - this.#typical) * NEWEST;
    this.#typical = Math.max(average, bytes / 2);
  }
}
