// Shared test helpers: fixtures, a LoadBalancer that is always closed, and proof of cleanup.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { LoadBalancer } from "../dist/index.js";

// tap's runner loads its process tracker (@tapjs/processinfo) into each test process, and that puts
// itself into every process spawned from there (through NODE_OPTIONS, re-added at each spawn by
// process-on-spawn). It records what each process loads, for coverage, which is off (.taprc); and
// it doubles a Node process's start-up (about 0.4 s of CPU more for each of the ~250 brokers,
// workers and CLI runs the suite starts). The processes tests start go without it. Should tap stop
// working this way, this does nothing.
try {
  const onSpawn = (await import("process-on-spawn")).default;
  onSpawn.removeAllListeners();
  if (process.env.NODE_OPTIONS) {
    process.env.NODE_OPTIONS = process.env.NODE_OPTIONS.split(/\s+/).filter((o) => !o.includes("@tapjs/processinfo")).join(" ");
  }
} catch {
  // not run by tap's runner, or a tap without it: nothing to undo
}

export const fixture = (name) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Whether a process with this pid is alive. */
export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** ipc directories this test process's LoadBalancers have left behind. */
export function ipcDirsLeft() {
  const mine = `zlb-${process.pid}-`;
  const dirs = new Set([tmpdir(), "/tmp"]);
  return [...dirs].flatMap((d) => readdirSync(d).filter((name) => name.startsWith(mine)));
}

/**
 * A LoadBalancer closed (force) at the end of the test, which then asserts that its broker and
 * workers are gone and no ipc file is left.
 */
export function createLb(t, options) {
  const lb = new LoadBalancer({ worker: fixture("ops.js"), workers: 2, ...options });
  t.teardown(async () => {
    const pids = new Set();
    const remember = () => {
      const p = lb.pids;
      if (p.broker) pids.add(p.broker);
      for (const w of p.workers) pids.add(w);
    };
    remember();
    await lb.close({ force: true });
    for (const pid of pids) if (alive(pid)) throw new Error(`process ${pid} outlived close()`);
  });
  return lb;
}

/**
 * One LoadBalancer for several tests of a file, made by createLb() on the file's root test at first
 * use (so it is closed, and its cleanup proven, when the file ends). Only for tests that leave it as
 * they found it: every task finished and every `send` result received.
 */
export function sharedLb(root, options) {
  let lb;
  return () => (lb ??= createLb(root, options));
}

/** Collects an async iterable into an array. */
export async function collect(iterable) {
  const out = [];
  for await (const x of iterable) out.push(x);
  return out;
}

export const range = (n, f = (i) => i) => Array.from({ length: n }, (_, i) => f(i));

/**
 * Resolves once `condition()` is truthy, checking every `interval` ms; rejects after `timeout` ms
 * naming `what`. For states that no event announces (a child's exit, a counter in stats()).
 */
export async function waitFor(condition, { timeout = 30_000, interval = 10, what = "the condition" } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** A fresh private temporary directory, removed when the test ends. */
export function tmpDir(t) {
  const dir = mkdtempSync(join(tmpdir(), "zerolb-test-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh path in a private temporary directory, removed when the test ends. */
export function tmpPath(t, name = "log") {
  return join(tmpDir(t), name);
}

/**
 * Starts a map of an ops.js "signal" task (it ends only when its ctx.signal is aborted) and a quick
 * one (21 -> 42), takes the quick result and breaks out, leaving the signal task running.
 */
export async function breakWhileSignalTaskRuns(t, lb) {
  for await (const v of lb.map([{ op: "signal" }, 21], { ordered: false })) {
    t.equal(v, 42);
    break;
  }
}

/** Lines in a file (0 when it does not exist): the ops.js fixture appends one per execution. */
export function lineCount(path) {
  if (!existsSync(path)) return 0;
  return readFileSync(path, "utf8").split("\n").filter(Boolean).length;
}

/** Lets pending I/O callbacks and timers of 0 ms run `turns` times. */
export async function turns(n = 5) {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * `promise`, or a rejection naming `what` if it has not settled after `ms`: turns a hang into a
 * precise failure instead of a file timeout. Not a speed check: give it a generous `ms`.
 */
export function within(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms (hang)`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Resolves once `n` distinct local workers of `lb` (an ops.js LoadBalancer) have answered tasks:
 * `ready` only promises the first one. Returns their pids.
 */
export async function workersAnswering(lb, n = lb.pids.workers.length) {
  await lb.ready;
  let pids;
  await waitFor(
    async () => {
      const infos = await collect(lb.map(Array.from({ length: 4 * n }, () => ({ op: "info" }))));
      pids = new Set(infos.map((i) => i.pid));
      return pids.size >= n;
    },
    { what: `${n} workers answering` },
  );
  return [...pids];
}

/** Counts how often each value occurs. */
export function multiset(values) {
  const m = new Map();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

/** Asserts `results` hold each of `expected` exactly once: nothing lost, nothing doubled. */
export function exactlyOnce(t, results, expected) {
  const got = multiset(results);
  let lost = 0;
  let doubled = 0;
  for (const v of expected) {
    const n = got.get(v) ?? 0;
    if (n === 0) lost++;
    if (n > 1) doubled++;
  }
  t.equal(results.length, expected.length, "one result per task");
  t.equal(lost, 0, "none lost");
  t.equal(doubled, 0, "none doubled");
}
