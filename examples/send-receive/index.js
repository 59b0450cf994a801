// Manual send/receive: hand tasks in one by one, take results out in completion order, and make
// some wait for others with `after`.
// send() resolves to the task id (and waits while highWaterMark tasks are outstanding);
// receive() resolves to { id, ok, value } or { id, ok: false, error }.
//   npm run build && node examples/send-receive/index.js
import { LoadBalancer } from "../../dist/index.js";

const lb = new LoadBalancer({ worker: new URL("./handler.js", import.meta.url), workers: 2, concurrency: 4 });
try {
  const users = ["ada", "grace", "linus", "barbara", "ken", "margaret"];
  const sent = new Map();
  for (const [i, user] of users.entries()) {
    // Your own id, or let zerolb make one. A later send with a known id is not run again.
    const id = await lb.send({ user, ms: 300 - i * 50 }, { id: `user-${user}` });
    sent.set(id, user);
  }
  const viaFn = await lb.send("hello", { fn: "shout" }); // a named export instead of the default
  const failing = await lb.send({ user: "slow", ms: 5000 }, { timeout: 100 }); // will time out
  sent.set(viaFn, "shout");
  sent.set(failing, "timeout");
  // Dependencies: `report` runs only once both lookups have succeeded; `after-failure` depends on
  // the task that times out, so it fails with a DependencyError without running.
  const report = await lb.send("report", { fn: "report", after: ["user-ada", "user-grace"] });
  const doomed = await lb.send("never", { fn: "report", id: "after-failure", after: [failing] });
  sent.set(report, "report");
  sent.set(doomed, "doomed");

  for (let n = 0; n < sent.size; n++) {
    const result = await lb.receive(); // completion order, not send order
    if (result.ok) console.log(`${result.id.padEnd(14)} ok   ${JSON.stringify(result.value)}`);
    else console.log(`${result.id.padEnd(14)} fail ${result.error.name} (${result.error.code}): ${result.error.message}`);
  }
  console.log("\nlb.graph() — the tasks linked by `after`, as Graphviz DOT:\n" + lb.graph());
} finally {
  await lb.close();
}
