// Entry of the broker child process.
import { rmSync } from "node:fs";
import { basename, dirname } from "node:path";
import { Broker } from "./broker.js";
import { type BrokerConfig } from "../wire/child-messages.js";
import { runChild } from "../wire/child-runner.js";

let broker: Broker | undefined;
let ipcDir: string | undefined;
runChild<BrokerConfig>(
  async (config) => {
    // The LoadBalancer's private ipc directory (zlb-<pid>-…): removed here too when the broker
    // stops, so it goes even if the caller died without close().
    const dir = dirname(config.frontend.replace(/^ipc:\/\//, ""));
    if (config.frontend.startsWith("ipc://") && basename(dir).startsWith("zlb-")) ipcDir = dir;
    broker = new Broker({ ...config, workerData: Buffer.from(config.workerData) });
    return broker.start();
  },
  async () => {
    await broker?.close();
    if (ipcDir) rmSync(ipcDir, { recursive: true, force: true });
  },
);
