// A LoadBalancer seen from outside its caller's process: the process exits by itself once close()
// has run (nothing is left keeping its event loop alive); `insecure: true` warns on stderr; and a
// caller killed with SIGKILL leaves no broker, worker or ipc directory behind.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import t from "tap";
import { alive, fixture, waitFor, within } from "./helpers.js";

const INDEX = new URL("../dist/index.js", import.meta.url).href;

/**
 * Runs `body` as an ES module in a fresh Node process after `const lb = new LoadBalancer(options)`.
 * Resolves { code, signal, stdout, stderr } when it exits; the test's teardown SIGKILLs it (by pid)
 * if it is still running.
 */
function runCaller(t, options, body) {
  const script = `import { LoadBalancer } from ${JSON.stringify(INDEX)};
const lb = new LoadBalancer(${JSON.stringify({ worker: fixture("ops.js"), ...options })});
${body}`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGKILL");
    await exited;
  });
  return exited;
}

t.test("close() - the caller's process then exits by itself: no socket, timer or child keeps it alive", async (t) => {
  // No process.exit(): the process ends only when its event loop is empty.
  const { code, stdout, stderr } = await within(
    runCaller(t, { workers: 2 }, `await lb.ready;
const out = [];
for await (const v of lb.map([1, 2, 3])) out.push(v);
const pids = [lb.pids.broker, ...lb.pids.workers];
await lb.close();
console.log(JSON.stringify({ out, pids }));`),
    60_000,
    "the caller process to exit after close()",
  );
  t.equal(code, 0, stderr);
  const { out, pids } = JSON.parse(stdout);
  t.same(out, [2, 4, 6], "it did its work");
  await waitFor(() => !pids.some(alive), { what: "its children to be gone" });
  t.pass("and its broker and workers are gone");
});

t.test("insecure: true - a plain-text endpoint off loopback is allowed, with a warning on stderr", async (t) => {
  const { code, stdout, stderr } = await within(
    runCaller(t, { workers: 0, endpoint: "tcp://0.0.0.0:0", insecure: true }, `await lb.ready;
console.log(lb.endpoint);
await lb.close();`),
    60_000,
    "the caller process",
  );
  t.equal(code, 0, stderr);
  t.match(stdout, /^tcp:\/\/0\.0\.0\.0:\d+\n$/, "the endpoint was bound");
  const endpoint = stdout.trim();
  t.ok(stderr.includes(`warning: remote endpoint ${endpoint} accepts workers in plain text (insecure: true)`), `a warning names the endpoint and says what that means: ${stderr}`);
});

/**
 * Starts a caller process with a LoadBalancer of two ops.js workers; once ready it sends `tasks`
 * (if any) and prints its pids and ipc directory. The test's teardown SIGKILLs, by pid, whatever
 * of the caller, its broker and its workers is still alive, so a failure here leaves nothing behind.
 */
async function startCaller(t, tasks = []) {
  const script = `import { LoadBalancer } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
const lb = new LoadBalancer({ worker: ${JSON.stringify(fixture("ops.js"))}, workers: 2 });
await lb.ready;
for (const task of ${JSON.stringify(tasks)}) await lb.send(task);
console.log(JSON.stringify(lb.pids));
setInterval(() => {}, 1000);`;
  const caller = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => caller.once("exit", resolve));
  const pids = [caller.pid];
  t.teardown(async () => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
    await exited;
  });
  const [line] = await within(once(createInterface({ input: caller.stdout }), "line"), 60_000, "the caller's start");
  const { broker, workers } = JSON.parse(line);
  pids.push(broker, ...workers);
  return { caller, exited, broker, workers };
}

/** ipc directories of the LoadBalancers of process `pid` (in $TMPDIR, or /tmp when that is long). */
const ipcDirsOf = (pid) => [...new Set([tmpdir(), "/tmp"])].flatMap((d) => readdirSync(d).filter((name) => name.startsWith(`zlb-${pid}-`)).map((name) => join(d, name)));

t.test("a caller killed with SIGKILL leaves no orphan process and no ipc directory", async (t) => {
  const { caller, exited, broker, workers } = await startCaller(t);
  const dirs = ipcDirsOf(caller.pid);
  t.equal(dirs.length, 1, "the caller's ipc directory exists while it runs");
  process.kill(caller.pid, "SIGKILL");
  await exited;
  const children = [broker, ...workers];
  await waitFor(() => !children.some(alive), { timeout: 20_000, what: `processes ${children.filter(alive)} to exit` });
  t.pass("the broker and both workers exited");
  await waitFor(() => !existsSync(dirs[0]), { timeout: 20_000, what: `the ipc directory ${dirs[0]} to go` });
  t.same(ipcDirsOf(caller.pid), [], "no ipc directory left");
});

t.test(
  "a caller killed with SIGKILL while a worker runs a task that never settles leaves no orphan",
  async (t) => {
    const { caller, exited, broker, workers } = await startCaller(t, [{ op: "hang" }, { op: "hang" }]);
    process.kill(caller.pid, "SIGKILL");
    await exited;
    const children = [broker, ...workers];
    await waitFor(() => !children.some(alive), { timeout: 20_000, what: "the children to exit" }).catch(() => {});
    t.same(children.filter(alive), [], "the broker and both workers exited");
  },
);
