// Running the zerolb CLI as a user would (`node dist/cli.js …` in a child process), for the
// cli-*.test.js files.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fixture, tmpDir, waitFor } from "./helpers.js";

export const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
export const HANDLER = fixture("cli-handler.js");
export const PKG = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

/** Env for the CLI: no DEBUG, no TTY hints from the test runner, unless asked. */
export function cliEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  if (!("DEBUG" in extra)) delete env.DEBUG;
  delete env.FORCE_COLOR;
  return env;
}

/**
 * Runs the CLI to the end; resolves { code, signal, stdout, stderr }. Killed (and the test failed)
 * if it runs past `timeout`: a hang guard, not a speed check.
 */
export function runCli(t, args, { input, env, timeout = 90_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(env), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      process.kill(child.pid, "SIGKILL");
      reject(new Error(`zerolb ${args.join(" ")} did not end within ${timeout} ms\nstderr: ${stderr}`));
    }, timeout);
    t.teardown(() => {
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGKILL");
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on("error", () => {});
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/**
 * Starts the CLI and leaves it running: { child, stdout(), stderr(), closed, waitForStdout(pred),
 * waitForStderr(re) }. The test's teardown SIGKILLs it (by pid) if it is still running.
 */
export function startCli(t, args, { env } = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(env), stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
  child.stdin.on("error", () => {});
  const closed = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGKILL");
    await closed;
  });
  return {
    child,
    closed,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForStdout: (predicate, what) => waitFor(() => predicate(stdout), { timeout: 60_000, what }).catch((err) => {
      throw new Error(`${err.message}; stderr: ${stderr}`);
    }),
    waitForStderr: (re) => waitFor(() => re.test(stderr), { timeout: 60_000, what: `${re} on stderr` }).catch((err) => {
      throw new Error(`${err.message}; stderr: ${stderr}`);
    }),
  };
}

export const jsonl = (values) => values.map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join("\n") + "\n";
export const lines = (text) => text.split("\n").filter(Boolean);
export const parseLines = (text) => lines(text).map((l) => JSON.parse(l));

/** Writes `values` as JSON Lines to a file `name` in a private temporary directory. */
export function writeInput(t, name, values) {
  const path = join(tmpDir(t), name);
  writeFileSync(path, jsonl(values));
  return path;
}

/** Pids of the direct children of `pid` (the broker and local workers of a CLI run). */
export function childPids(pid) {
  const r = spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" });
  return r.stdout.split("\n").map((s) => Number(s.trim())).filter((n) => n > 0);
}
