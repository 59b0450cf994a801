// tinypool (npm): worker threads in this process, like ./piscina.js (tinypool is a fork of it).
// Fed through a bounded window of outstanding `pool.run()` promises (WINDOW at a time).
// Buffers are structured-cloned to and from the threads (they arrive as Uint8Array).
import { createRequire } from "node:module";
import Tinypool from "tinypool";

export const name = "tinypool";
export const version = createRequire(import.meta.url)("tinypool/package.json").version;
export const WINDOW = 1024;

/** `sum` convention: numbers add their value, binary results their byteLength. */
const measure = (x) => (typeof x === "number" ? x : ArrayBuffer.isView(x) ? x.byteLength : 0);

export function create({ handler, workers, concurrency }) {
  const pool = new Tinypool({
    filename: handler,
    minThreads: workers,
    maxThreads: workers,
    concurrentTasksPerWorker: concurrency,
    idleTimeout: 60_000,
  });
  const lanes = workers * concurrency;
  let closed = false;
  return {
    // Like piscina, no start-up promise: the first result (call()) is the comparable moment.
    ready: undefined,
    call: (item) => pool.run(item),
    stream(items) {
      const it = items[Symbol.iterator]();
      let outstanding = 0;
      let done = false;
      let count = 0;
      let sum = 0;
      return new Promise((resolve, reject) => {
        const fail = (err) => {
          done = true; // stop feeding on the first error
          reject(err);
        };
        const settle = (value) => {
          outstanding--;
          count++;
          sum += measure(value);
          pump();
        };
        const pump = () => {
          if (closed) done = true; // after close(), pool.run() would start new workers
          while (!done && outstanding < WINDOW) {
            const r = it.next();
            if (r.done) done = true;
            else {
              outstanding++;
              pool.run(r.value).then(settle, fail);
            }
          }
          if (done && outstanding === 0) resolve({ count, sum });
        };
        pump();
      });
    },
    async warm() {
      await this.stream(Array.from({ length: lanes * 4 }, (_, i) => i));
    },
    processes: () => [],
    info: () => ({ threads: pool.threads.length, completed: pool.completed }),
    // tinypool has no graceful close: destroy() once nothing is in flight (stream() has returned).
    close() {
      closed = true;
      return pool.destroy();
    },
    forceClose() {
      closed = true;
      return pool.destroy();
    },
  };
}
