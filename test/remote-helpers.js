// Remote workers for tests: `node dist/cli.js worker <fixture> --connect <endpoint>` child
// processes, killed by pid when the test ends.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { fixture, waitFor } from "./helpers.js";

export const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

/**
 * Starts a CLI worker. Returns { child, pid, exited, stderr, waitForLog(re) }; the test's teardown
 * SIGKILLs it (by pid) if it is still running and waits for its exit.
 */
export function startWorker(t, endpoint, { args = [], env = {}, module = fixture("remote-exec.js") } = {}) {
  const { child, exited, stderr } = spawnWatched(t, process.execPath, [CLI, "worker", module, "--connect", endpoint, "--heartbeat-interval", "250", ...args], {
    env: { ...process.env, ...env },
  });
  return {
    child,
    pid: child.pid,
    exited,
    get stderr() {
      return stderr();
    },
    async waitForLog(re, timeout = 60_000) {
      try {
        return await waitFor(() => re.test(stderr()), { timeout, what: `${re} in the worker's stderr` });
      } catch (err) {
        throw new Error(`${err.message}; it says:\n${stderr()}`);
      }
    },
  };
}

/**
 * Spawns a process whose stderr is collected; the test's teardown SIGKILLs it (by pid) if it is
 * still running and waits for its exit. Returns { child, exited, stderr() }.
 */
export function spawnWatched(t, command, args, options = {}) {
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"], ...options });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGKILL");
    await exited;
  });
  return { child, exited, stderr: () => stderr };
}

/** Pids in an execution log written by fixtures/remote-exec.js, with their counts. */
export function executionsByPid(text) {
  const counts = new Map();
  for (const line of text.split("\n")) if (line) counts.set(Number(line), (counts.get(Number(line)) ?? 0) + 1);
  return counts;
}
