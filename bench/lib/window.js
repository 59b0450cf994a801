// Feeding a promise-per-task pool (piscina, tinypool, workerpool) the idiomatic way to stream a
// large input into it: at most `window` tasks outstanding, the next pulled as each one settles.

/** `sum` convention of the peers: numbers add their value, binary results their byteLength. */
export const measure = (x) => (typeof x === "number" ? x : ArrayBuffer.isView(x) ? x.byteLength : 0);

/**
 * Runs `run(item)` for every item of `items` with at most `window` outstanding; resolves to
 * { count, sum }. Stops pulling at the first error (and rejects with it), and once `isClosed()`
 * says the pool is closed: some pools start new workers for a task submitted after close.
 */
export function streamWindow(items, run, { window, isClosed = () => false }) {
  const it = items[Symbol.iterator]();
  let outstanding = 0;
  let done = false;
  let count = 0;
  let sum = 0;
  return new Promise((resolve, reject) => {
    const fail = (err) => {
      done = true;
      reject(err);
    };
    const settle = (value) => {
      outstanding--;
      count++;
      sum += measure(value);
      pump();
    };
    const pump = () => {
      if (isClosed()) done = true;
      while (!done && outstanding < window) {
        const r = it.next();
        if (r.done) done = true;
        else {
          outstanding++;
          run(r.value).then(settle, fail);
        }
      }
      if (done && outstanding === 0) resolve({ count, sum });
    };
    pump();
  });
}

/**
 * How many tasks the pools below are fed ahead (as piscina's and tinypool's users would). zerolb's
 * own default is 4096; these pools gain nothing from more (piscina, W1: 46-48k tasks/s at 1024,
 * 42-46k at 4096, 2026-11-25), so they keep the window that suits them.
 */
export const WINDOW = 1024;

/** The window for `lanes` tasks running at once: a window below the lanes would leave some idle. */
export const windowFor = (lanes) => Math.max(WINDOW, 2 * lanes);

/**
 * The peer interface (../peers/README.md) over a piscina-like thread pool: `pool.run(item)`,
 * `pool.threads`, `pool.completed`, `pool.destroy()`; `close` is the pool's graceful close.
 */
export function threadPoolPeer(pool, { lanes, close }) {
  let closed = false;
  const run = (item) => pool.run(item);
  return {
    // No start-up promise: threads are spawned by the constructor and marked ready at once; the
    // first result (call()) is the comparable moment.
    ready: undefined,
    call: run,
    stream: (items) => streamWindow(items, run, { window: windowFor(lanes), isClosed: () => closed }),
    async warm() {
      await this.stream(Array.from({ length: lanes * 4 }, (_, i) => i));
    },
    processes: () => [],
    info: () => ({ threads: pool.threads.length, completed: pool.completed }),
    close() {
      closed = true;
      return close();
    },
    forceClose() {
      closed = true;
      return pool.destroy();
    },
  };
}
