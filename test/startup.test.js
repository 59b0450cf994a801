// Start-up failures: `ready` rejects with an error naming the module and the cause, later calls
// reject the same way, nothing hangs and no child process or ipc file is left.
import t from "tap";
import { LoadBalancer, StartupError } from "../dist/index.js";
import { alive, fixture, ipcDirsLeft, waitFor, within } from "./helpers.js";

const cases = [
  {
    name: "a missing module",
    options: { worker: fixture("does-not-exist.js") },
    cause: [/does-not-exist\.js/, /cannot load|Cannot find module/i],
  },
  {
    name: "a module with no handler function",
    options: { worker: fixture("no-handler.js") },
    cause: [/no-handler\.js/, /no default export/],
  },
  {
    name: "a module that does not parse",
    options: { worker: fixture("syntax-error.js") },
    cause: [/syntax-error\.js/, /SyntaxError|Unexpected token/],
  },
  {
    name: "a setup() that throws",
    options: { worker: fixture("ops.js"), workerData: { setupThrows: true } },
    cause: [/ops\.js/, /setup\(\)/, /setup failed on purpose/],
  },
];

for (const { name, options, cause } of cases) {
  t.test(`.ready - rejects for ${name}, and so do later calls`, async (t) => {
    const lb = new LoadBalancer({ workers: 2, ...options });
    const { broker, workers } = lb.pids;
    const children = [broker, ...workers].filter(Boolean);
    t.equal(children.length, 3, "the broker and two workers were started");
    const err = await within(lb.ready.then(() => undefined, (e) => e), 60_000, "ready");
    t.ok(err instanceof Error, "ready rejects");
    t.ok(err instanceof StartupError, "with a StartupError");
    t.equal(err.code, "ERR_ZEROLB_STARTUP");
    for (const pattern of cause) t.match(err.message, pattern, `the message names it: ${pattern}`);
    // Every later call rejects with that error.
    await t.rejects(lb.send(1), err, "send() rejects with the start-up error");
    await t.rejects(lb.map([1]).next(), err, "map() rejects with the start-up error");
    await t.rejects(lb.receive(), err, "receive() rejects with the start-up error");
    // The children go away without close()...
    await waitFor(() => children.every((pid) => !alive(pid)), { timeout: 30_000, what: "the children to exit" }).then(
      () => t.pass("no child left"),
      () => t.fail(`children still alive: ${children.filter(alive).join(", ")}`),
    );
    // ...and close() ends at once, leaving no ipc file.
    await within(lb.close(), 30_000, "close() after a failed start");
    t.same(ipcDirsLeft(), [], "no ipc directory left");
  });
}
