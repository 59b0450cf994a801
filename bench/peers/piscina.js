// piscina: worker threads in this process. Fed through a bounded window of outstanding
// `pool.run()` promises (1024 at a time, or twice the lanes if more: ../lib/window.js), the
// idiomatic way to stream a large input into it.
import { Piscina } from "piscina";
import { threadPoolPeer } from "../lib/window.js";

export const name = "piscina";
export const version = Piscina.version;

export function create({ handler, workers, concurrency }) {
  const pool = new Piscina({
    filename: handler,
    minThreads: workers,
    maxThreads: workers,
    concurrentTasksPerWorker: concurrency,
    idleTimeout: 60_000,
  });
  return threadPoolPeer(pool, { lanes: workers * concurrency, close: () => pool.close() });
}
