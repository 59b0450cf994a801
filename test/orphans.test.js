// A caller that dies (SIGKILL) leaves no process behind, even one running a handler that never settles.
import { spawn } from "node:child_process";
import t from "tap";
import { alive, fixture, waitFor } from "./helpers.js";

t.test("a caller SIGKILLed while a worker runs a never-settling task: broker and workers exit", async (t) => {
  const script = `import { LoadBalancer } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
const lb = new LoadBalancer({ worker: ${JSON.stringify(fixture("ops.js"))}, workers: 1 });
await lb.ready;
await lb.send({ op: "hang" });
while (lb.stats().inFlight === 0) await new Promise((r) => setTimeout(r, 20));
console.log(JSON.stringify(lb.pids));
setInterval(() => {}, 1000);`;
  const caller = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  t.teardown(() => {
    if (alive(caller.pid)) process.kill(caller.pid, "SIGKILL");
  });
  const line = await new Promise((resolve) => caller.stdout.once("data", (d) => resolve(String(d))));
  const { broker, workers } = JSON.parse(line);
  t.teardown(() => {
    for (const pid of [broker, ...workers]) if (alive(pid)) process.kill(pid, "SIGKILL");
  });
  process.kill(caller.pid, "SIGKILL");
  for (const pid of [broker, ...workers]) await waitFor(() => !alive(pid), { timeout: 20_000, what: `process ${pid} to exit` });
  t.pass("broker and worker exited");
});
