// tinypool (npm): worker threads in this process, like ./piscina.js (tinypool is a fork of it).
// Fed through a bounded window of outstanding `pool.run()` promises (1024 at a time, or twice
// the lanes if more: ../lib/window.js).
// Buffers are structured-cloned to and from the threads (they arrive as Uint8Array).
import { createRequire } from "node:module";
import Tinypool from "tinypool";
import { threadPoolPeer } from "../lib/window.js";

export const name = "tinypool";
export const version = createRequire(import.meta.url)("tinypool/package.json").version;

export function create({ handler, workers, concurrency }) {
  const pool = new Tinypool({
    filename: handler,
    minThreads: workers,
    maxThreads: workers,
    concurrentTasksPerWorker: concurrency,
    idleTimeout: 60_000,
  });
  // tinypool has no graceful close: destroy() once nothing is in flight (stream() has returned).
  return threadPoolPeer(pool, { lanes: workers * concurrency, close: () => pool.destroy() });
}
