// piscina: worker threads in this process. Fed through a bounded window of outstanding
// `pool.run()` promises (WINDOW at a time), the idiomatic way to stream a large input into it.
import { Piscina } from "piscina";

export const name = "piscina";
export const version = Piscina.version;
export const WINDOW = 1024;

export function create({ handler, workers, concurrency }) {
  const pool = new Piscina({
    filename: handler,
    minThreads: workers,
    maxThreads: workers,
    concurrentTasksPerWorker: concurrency,
    idleTimeout: 60_000,
  });
  const lanes = workers * concurrency;
  return {
    // piscina has no start-up promise: its threads are spawned by the constructor and marked ready
    // at once; the first result (call()) is the comparable moment.
    ready: undefined,
    call: (item) => pool.run(item),
    stream(items) {
      const it = items[Symbol.iterator]();
      let outstanding = 0;
      let done = false;
      let count = 0;
      let sum = 0;
      return new Promise((resolve, reject) => {
        const settle = (value) => {
          outstanding--;
          count++;
          sum += typeof value === "number" ? value : value.byteLength;
          pump();
        };
        const pump = () => {
          while (!done && outstanding < WINDOW) {
            const r = it.next();
            if (r.done) done = true;
            else {
              outstanding++;
              pool.run(r.value).then(settle, reject);
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
    close: () => pool.close(),
    forceClose: () => pool.destroy(),
  };
}
