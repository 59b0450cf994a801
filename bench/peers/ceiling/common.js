// Shared by the ceiling's caller (../ceiling.js), broker and worker.
//
// Messages (every batch is ONE frame of msgpack, never decoded by the broker):
//   caller -> broker frontend        [count, batch]              count: u32 LE, batch: msgpack array
//   broker -> worker                 [count, batch]
//   worker -> broker backend         [credit]                    once, at start (tasks it may hold)
//                                    [count, results]            results: msgpack array; returns count credit
//   broker -> caller                 [count, results]
export const BATCH = 100; // tasks per message
export const CREDIT = 200; // tasks a worker may hold (two batches)

export const u32 = (n) => {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(n, 0);
  return b;
};

/**
 * One writer per socket: zeromq.js allows one pending send() at a time (EBUSY otherwise), so
 * messages queue here and a single loop awaits each send.
 */
export class Writer {
  #sock;
  #q = [];
  #head = 0;
  #busy = false;
  constructor(sock) {
    this.#sock = sock;
  }
  push(msg) {
    this.#q.push(msg);
    if (!this.#busy) void this.#drain();
  }
  async #drain() {
    this.#busy = true;
    try {
      while (this.#head < this.#q.length) {
        const msg = this.#q[this.#head];
        this.#q[this.#head++] = undefined;
        await this.#sock.send(msg);
      }
      this.#q.length = 0;
      this.#head = 0;
    } catch (err) {
      if (!this.#sock.closed) throw err;
    } finally {
      this.#busy = false;
    }
  }
}

/**
 * Close the sockets and exit on SIGTERM (the caller's close()) or when the caller is gone (its IPC
 * channel closes); `cleanup` (the broker: remove the ipc dir) runs first.
 */
export function exitOnSignal(socks, cleanup) {
  const stop = () => {
    for (const s of socks) s.close();
    try {
      cleanup?.();
    } finally {
      process.exit(0);
    }
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  // The caller died without closing us: its IPC channel closes.
  process.once("disconnect", stop);
}
