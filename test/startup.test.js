// Start-up failures: `ready` rejects with an error naming the module and the cause, later calls
// reject the same way, nothing hangs and no child process or ipc file is left.
import t from "tap";
import { LoadBalancer, StartupError } from "../dist/index.js";
import { readdirSync, readFileSync } from "node:fs";
import { alive, fixture, ipcDirsLeft, waitFor, within } from "./helpers.js";

/** Pids of the live processes whose parent is `pid` (from /proc). */
function childrenOf(pid) {
  const out = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid; the name (field 2) may hold spaces, so split after its ")".
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1].split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

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
    const started = [broker, ...workers].filter(Boolean);
    // The broker and the first worker start at once; a worker beyond the cores may wait for the broker.
    t.ok(started.length >= 2, `the broker and a worker were started (${started.length} processes)`);
    const err = await within(lb.ready.then(() => undefined, (e) => e), 60_000, "ready");
    t.ok(err instanceof Error, "ready rejects");
    t.ok(err instanceof StartupError, "with a StartupError");
    t.equal(err.code, "ERR_ZEROLB_STARTUP");
    for (const pattern of cause) t.match(err.message, pattern, `the message names it: ${pattern}`);
    // Every later call rejects with that error.
    await t.rejects(lb.send(1), err, "send() rejects with the start-up error");
    await t.rejects(lb.map([1]).next(), err, "map() rejects with the start-up error");
    await t.rejects(lb.receive(), err, "receive() rejects with the start-up error");
    // The children go away without close(), those started later too: none of this process's children is left.
    const left = () => [...new Set([...started, ...childrenOf(process.pid)])].filter(alive);
    await waitFor(() => left().length === 0, { timeout: 30_000, what: "the children to exit" }).then(
      () => t.pass("no child left"),
      () => t.fail(`children still alive: ${left().join(", ")}`),
    );
    // ...and close() ends at once, leaving no ipc file.
    await within(lb.close(), 30_000, "close() after a failed start");
    t.same(ipcDirsLeft(), [], "no ipc directory left");
  });
}
