// Entry of a local worker child process.
import { WorkerRuntime } from "./runtime.js";
import { type WorkerConfig } from "../wire/child-messages.js";
import { report, runChild } from "../wire/child-runner.js";

let worker: WorkerRuntime | undefined;
const shutdown = runChild<WorkerConfig>(
  async (config) => {
    worker = new WorkerRuntime(config, {
      // maxTasksPerWorker or maxWorkerMemory reached: the caller is told first, so that it replaces
      // this process at once and does not count its exit as a crash; then it leaves as on SIGTERM.
      onRecycle: (reason) => {
        report({ type: "recycling", reason });
        shutdown();
      },
    });
    await worker.start();
  },
  async () => worker?.stop(),
);
