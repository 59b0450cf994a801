// The only writer of a socket. zeromq.js allows one pending send per socket (a second throws
// EBUSY), so everything that wants to send goes through here.
//
// Batching is adaptive: a `produce` callback builds a message from whatever has accumulated, and
// is called only when the socket is free. While one send is in flight, new work piles up and goes
// out as one message; a lone task is sent at once (after the current microtasks, so a burst that
// arrives in one turn of the event loop still leaves as one message).

import { Waiters } from "../shared/waiters.js";

export type Frames = (Uint8Array | string)[];

export interface SendingSocket {
  send(frames: Frames): Promise<void>;
}

export class Outbox {
  readonly #socket: SendingSocket;
  readonly #produce: (() => Frames | undefined) | undefined;
  readonly #onError: (err: unknown, frames: Frames) => void;
  #queue: Frames[] = [];
  #queueHead = 0;
  #busy = false;
  #scheduled = false;
  readonly #idle = new Waiters();
  readonly #defer: (fn: () => void) => void;

  /**
   * `defer` decides how long work may pile up before a send: `process.nextTick` (the default) ends
   * a burst with the current turn of the event loop; `setImmediate` waits for the end of the loop's
   * current phase, so that work completed by many timers or socket events of one phase leaves as
   * one message.
   */
  constructor(
    socket: SendingSocket,
    onError: (err: unknown, frames: Frames) => void,
    produce?: () => Frames | undefined,
    defer: (fn: () => void) => void = process.nextTick,
  ) {
    this.#socket = socket;
    this.#onError = onError;
    this.#produce = produce;
    this.#defer = defer;
  }

  /** A send is in flight: flushNow() would do nothing until it completes. */
  get busy(): boolean {
    return this.#busy;
  }

  /** Queues one ready-made message. */
  push(frames: Frames): void {
    this.#queue.push(frames);
    this.wake();
  }

  /** Something for `produce` has accumulated: send it when the socket is free. */
  wake(): void {
    if (this.#busy || this.#scheduled) return;
    this.#scheduled = true;
    this.#defer(this.#drainSoon);
  }

  /**
   * Sends now if the socket is free, from inside a long stretch of synchronous work (a worker
   * running a batch of quick tasks in one microtask chain), so that work already done flows on
   * while the rest runs. zeromq.js hands the message to libzmq synchronously.
   */
  flushNow(): void {
    if (!this.#busy) void this.#drain();
  }

  /** Resolves once nothing is queued or being sent. */
  onIdle(): Promise<void> {
    return this.#idle.until(!this.#busy && !this.#scheduled);
  }

  readonly #drainSoon = (): void => void this.#drain();

  #next(): Frames | undefined {
    if (this.#queueHead < this.#queue.length) {
      const frames = this.#queue[this.#queueHead++];
      if (this.#queueHead === this.#queue.length) {
        this.#queue = [];
        this.#queueHead = 0;
      }
      return frames;
    }
    return this.#produce?.();
  }

  async #drain(): Promise<void> {
    this.#scheduled = false;
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (let frames = this.#next(); frames; frames = this.#next()) {
        try {
          await this.#socket.send(frames);
        } catch (err) {
          this.#onError(err, frames);
        }
      }
    } finally {
      this.#busy = false;
      this.#idle.wake();
    }
  }
}
