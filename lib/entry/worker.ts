// Entry of a local worker child process.
import { WorkerRuntime, type WorkerConfig } from "../worker.js";
import { runChild } from "./child.js";

let worker: WorkerRuntime | undefined;
runChild<WorkerConfig>(
  async (config) => {
    worker = new WorkerRuntime(config);
    await worker.start();
  },
  async () => worker?.stop(),
);
