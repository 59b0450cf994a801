// workerpool (npm) in process mode: `workers` child processes forked by workerpool, each running
// ./workerpool-worker.js with the handler. Fed like ./piscina.js, through a bounded window of
// outstanding `pool.exec()` promises (windowFor(workers) at a time).
//
// - workerpool runs ONE task at a time per worker (a worker is "busy" while it has a task), so
//   `concurrency` > 1 is not honoured: the pool keeps maxWorkers = workers (not workers ×
//   concurrency), and info() says so (tasksPerWorker: 1).
// - Process mode uses child_process IPC with the default "json" serialization: a Buffer travels
//   as { type: "Buffer", data: [bytes] } both ways (several bytes of JSON per payload byte), and
//   is revived into a Buffer on each side. That is workerpool's own cost, kept as users get it.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import workerpool from "workerpool";
import { streamWindow, windowFor } from "../lib/window.js";

export const name = "workerpool";
export const version = createRequire(import.meta.url)("workerpool/package.json").version;

const script = fileURLToPath(new URL("./workerpool-worker.js", import.meta.url));

const isJsonBuffer = (x) => x !== null && typeof x === "object" && x.type === "Buffer" && Array.isArray(x.data);
/** A result as the caller should see it: a JSON-serialized Buffer becomes a Buffer again. */
const revive = (x) => (isJsonBuffer(x) ? Buffer.from(x.data) : x);

export function create({ handler, workers, concurrency }) {
  const pool = workerpool.pool(script, {
    workerType: "process",
    minWorkers: workers,
    maxWorkers: workers,
    forkArgs: [handler],
  });
  const seen = new Set(); // every worker pid ever started, for forceClose()
  const pids = () => {
    const out = [];
    for (const w of pool.workers) {
      const pid = w.worker?.pid;
      if (pid !== undefined) {
        out.push(pid);
        seen.add(pid);
      }
    }
    return out;
  };
  pids();
  let closed = false;
  const run = (item) => pool.exec("run", [item]).then(revive);
  return {
    // No start-up promise: the workers are forked by the constructor (minWorkers) and tasks queue
    // until each one says "ready"; the first result (call()) is the comparable moment.
    ready: undefined,
    call: run,
    stream(items) {
      return streamWindow(items, run, { window: windowFor(workers), isClosed: () => closed }); // one task per worker
    },
    async warm() {
      await this.stream(Array.from({ length: workers * 4 }, (_, i) => i));
    },
    processes: () => pids().map((pid) => ({ role: "workers", pid })),
    info: () => ({ ...pool.stats(), tasksPerWorker: 1, requestedConcurrency: concurrency, serialization: "json" }),
    close() {
      closed = true;
      return pool.terminate();
    },
    async forceClose() {
      closed = true;
      pids();
      await pool.terminate(true).catch(() => {});
      for (const pid of seen) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    },
  };
}
