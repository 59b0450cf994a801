// A LoadBalancer with no local worker, served by the Python worker of this directory over
// loopback tcp. Run from the repository root: node examples/python-worker/index.js
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { LoadBalancer } from "../../dist/index.js";

const here = (name) => fileURLToPath(new URL(name, import.meta.url));

// `worker` names the module local workers would load; with workers: 0 none starts.
const lb = new LoadBalancer({ worker: here("../quick-start/handler.js"), workers: 0, endpoint: "tcp://127.0.0.1:0", workerData: { scale: 2 } });
await lb.ready;
console.log(`broker listening for workers at ${lb.endpoint}`);

const python = spawn("/usr/bin/python3", [here("worker.py"), here("handlers.py"), "--connect", lb.endpoint, "--concurrency", "2"], { stdio: "inherit" });
try {
  const doubled = [];
  for await (const x of lb.map(Array.from({ length: 10 }, (_, i) => i), { fn: "double" })) doubled.push(x);
  console.log("double:", doubled.join(" "));
  for await (const info of lb.map(["hello"], { fn: "describe" })) console.log("describe:", info);
  console.log("workers:", lb.stats().workers.map((w) => `pid ${w.pid} ${w.local ? "local" : "remote"} ${w.done} tasks`).join(", "));
} finally {
  python.kill("SIGTERM");
  await new Promise((resolve) => python.once("exit", resolve));
  await lb.close();
}
