// Entry of a local worker child process.
import { WorkerRuntime } from "./runtime.js";
import { type WorkerConfig } from "../wire/child-messages.js";
import { runChild } from "../wire/child-runner.js";

let worker: WorkerRuntime | undefined;
runChild<WorkerConfig>(
  async (config) => {
    worker = new WorkerRuntime(config);
    await worker.start();
  },
  async () => worker?.stop(),
);
