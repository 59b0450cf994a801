// Entry of a local worker child process.
import { WorkerRuntime, type WorkerConfig } from "./runtime.js";
import { runChild } from "../shared/run-child.js";

let worker: WorkerRuntime | undefined;
runChild<WorkerConfig>(
  async (config) => {
    worker = new WorkerRuntime(config);
    await worker.start();
  },
  async () => worker?.stop(),
);
