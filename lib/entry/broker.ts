// Entry of the broker child process.
import { Broker, type BrokerConfig } from "../broker.js";
import { runChild } from "./child.js";

let broker: Broker | undefined;
runChild<BrokerConfig>(
  async (config) => {
    broker = new Broker({ ...config, workerData: Buffer.from(config.workerData) });
    return broker.start();
  },
  async () => broker?.close(),
);
