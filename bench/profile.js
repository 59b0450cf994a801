// Where the time goes under W1: CPU profiles of the caller, the broker and both workers, and the
// CPU time of each process per task, over the measured phase only.
//
//   npm run build && node bench/profile.js                        # W1: 100k warm-up, 300k measured tasks
//   node bench/profile.js --dist /other/checkout/dist --runs 2    # another build, twice
//   node bench/profile.js --records --tasks 200000 --warmup 50000  # W7a: review records, trivial handler
//
// Options:
//   --tasks N        measured tasks (default 300000)      --warmup N   warm-up tasks (default 100000)
//   --dist PATH      the zerolb build to profile (used as is; default: a private copy of ../dist)
//   --runs N         repeat the whole run N times, a report for each (default 1)
//   --interval US    sampling interval of the profiler, µs (default 250; V8's own default is 1000)
//   --top N          functions listed per process role (default 12)
//   --no-prof        no profiler at all: only the CPU time per task (to see the profiler's cost)
//   --perf           instead of V8's profiler, Linux perf (on-CPU samples of every thread; needs
//                    perf and the right to use it, e.g. root or kernel.perf_event_paranoid <= 1)
//   --keep DIR       keep the raw files in DIR/run-<i>/: .cpuprofile (open in Chrome DevTools),
//                    gc.<pid>.json, perf.data (its JIT names are gone: /tmp/perf-<pid>.map is removed)
//   --save FILE      also write the report to FILE
//   --records        W7a instead of W1: bench/lib/records.js's review records through record-id.js
//   --payload        W3 instead of W1: 64 KiB Buffers through echo.js (try --tasks 20000 --warmup 2000)
//   --latency        W4 instead of W1: one task at a time, send + receive in a loop (try --tasks 5000 --warmup 5000)
//
// How: this script starts the caller as a child node process with --cpu-prof, and the caller's
// LoadBalancer starts its broker and workers with the same flags through ZEROLB_CHILD_FLAGS. The
// caller runs W1 exactly as the bench does (bench/peers/zerolb.js, noop handler, 2 workers,
// concurrency 1, `lb.map` over a generator, ordered): start, warm up, then the measured phase. It
// notes the start and end of the measured phase on the monotonic clock that V8 stamps profile
// samples with, and reads /proc (CPU of each process, and of each of its threads) at both ends.
// Profiles cover each process's whole life, so only the samples inside that window are counted:
// start-up, warm-up and close are left out of both the profiles and the CPU figures. Every
// process also loads a small GC recorder (--import of a data: URL, see gcRecorder) that logs its
// garbage collections, so GC pauses are counted over the same window.
//
// The report, per role (caller; broker; workers = both worker processes together):
//   - CPU µs per task from /proc, split by thread: the JS main thread, ZeroMQ's I/O thread, V8's
//     helper threads (concurrent GC marking and sweeping, the optimizing compiler) and the
//     profiler's own thread; and the main thread's GC pauses;
//   - self time by kind of code (zerolb, @msgpack/msgpack, zeromq's JS binding, node internals,
//     V8 builtins and C++ bindings called from JS, GC, "(program)");
//   - the top functions by self time: share of the main thread's busy samples ("(idle)", the
//     event loop waiting in epoll, is left out) and that share of the main thread's CPU per task;
//   - the top zerolb functions by inclusive time (the function and everything it calls);
//   - with --perf: the main thread's on-CPU samples by kind of code and by function (see
//     summarisePerf for why this is the check on V8's wall-clock sampling).
// The profiler samples the main thread only; the other threads appear only in the /proc split. A
// call into C++ (zeromq.js's socket send and receive are N-API functions) has no frame of its own:
// its time is self time of the JS function making it, so zerolb functions show their hottest line.
// Locations in zerolb are mapped through dist/*.js.map to lib/*.ts lines (of the build profiled).
import { execFileSync, fork, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..");

// ---------------------------------------------------------------------------------------------
// The parent: starts the caller, collects its report and the profiles, prints the breakdown.

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log(readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").filter((l) => l.startsWith("//")).slice(0, 21).join("\n"));
    return;
  }
  const opts = {
    tasks: int(args.tasks ?? 300_000, "--tasks"),
    warmup: int(args.warmup ?? 100_000, "--warmup"),
    runs: int(args.runs ?? 1, "--runs"),
    interval: int(args.interval ?? 250, "--interval"),
    top: int(args.top ?? 12, "--top"),
    prof: !args["no-prof"] && !args.perf,
    perf: Boolean(args.perf),
    records: Boolean(args.records),
    payload: Boolean(args.payload),
    latency: Boolean(args.latency),
  };

  let dist = args.dist && resolve(args.dist);
  let snapshot;
  if (!dist) {
    // A private copy, as bench/run.js makes: a rebuild during the run cannot hand the children half-written files.
    snapshot = mkdtempSync(join(os.tmpdir(), "zerolb-profile-dist-"));
    cpSync(join(ROOT, "dist"), join(snapshot, "dist"), { recursive: true });
    symlinkSync(join(ROOT, "node_modules"), join(snapshot, "node_modules"), "dir");
    dist = join(snapshot, "dist");
  }
  if (!existsSync(join(dist, "index.js"))) throw new Error(`no zerolb build at ${dist} (npm run build first)`);

  const out = [];
  const print = (line = "") => {
    console.log(line);
    out.push(line);
  };
  print(
    opts.latency
      ? `W4 profile: ${opts.tasks} round trips one at a time (send + receive) after ${opts.warmup} warm-up, noop.js, 2 workers`
      : opts.payload
      ? `W3 profile: ${opts.tasks} × 64 KiB Buffers in and out after ${opts.warmup} warm-up, echo.js, 2 workers, concurrency 1, lb.map over an array (ordered)`
      : opts.records
      ? `W7a profile: ${opts.tasks} review records (bench/lib/records.js) after ${opts.warmup} warm-up, record-id.js, 2 workers, concurrency 1, lb.map over an array (ordered)`
      : `W1 profile: ${opts.tasks} measured tasks after ${opts.warmup} warm-up, 2 workers, concurrency 1, lb.map over a generator (ordered)`,
  );
  print(`zerolb: ${args.dist ? dist : `${join(ROOT, "dist")} (copied)`}${describeCommit(dist)}; node ${process.version}; ${os.cpus().length} CPUs; load ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  print(
    opts.perf
      ? `profiler: perf record -e cpu-clock -F ${PERF_HZ} -g on the four processes over the measured phase (node --perf-basic-prof); no V8 profiler`
      : opts.prof
        ? `profiler: --cpu-prof --cpu-prof-interval ${opts.interval} (µs) in every process`
        : "profiler: off (--no-prof)",
  );

  const summary = [];
  try {
    for (let run = 1; run <= opts.runs; run++) {
      const profDir = args.keep ? resolve(args.keep, `run-${run}`) : mkdtempSync(join(os.tmpdir(), "zerolb-profile-"));
      if (args.keep) {
        rmSync(profDir, { recursive: true, force: true });
        mkdirSync(profDir, { recursive: true });
      }
      try {
        const report = await startCaller(dist, profDir, opts);
        print("");
        print(`=== run ${run}/${opts.runs}: ${Math.round(report.tasksPerSec).toLocaleString("en-US")} tasks/s (${report.ms.toFixed(0)} ms), load ${os.loadavg()[0].toFixed(2)}`);
        const profiles = opts.prof ? loadProfiles(profDir, report) : {};
        report.gc = loadGc(profDir, report);
        const roles = summarise(report, profiles, opts, print);
        if (opts.perf) {
          try {
            summarisePerf(report, profDir, opts, print);
          } finally {
            removePerfMaps(report.processes.map((p) => p.pid));
          }
        }
        summary.push({ run, tasksPerSec: report.tasksPerSec, roles });
      } finally {
        if (!args.keep) rmSync(profDir, { recursive: true, force: true });
      }
    }
  } finally {
    if (snapshot) rmSync(snapshot, { recursive: true, force: true });
  }

  if (opts.runs > 1) {
    print("");
    print("=== CPU µs/task per run (caller / broker / workers = total)");
    for (const s of summary) {
      const r = s.roles;
      print(`run ${s.run}: ${fmt(r.caller)} / ${fmt(r.broker)} / ${fmt(r.workers)} = ${fmt(r.caller + r.broker + r.workers)}   (${Math.round(s.tasksPerSec).toLocaleString("en-US")} tasks/s)`);
    }
    if (summary.length >= 3) {
      const med = (f) => median(summary.map(f));
      const m = ["caller", "broker", "workers"].map((k) => med((s) => s.roles[k]));
      print(`median: ${m.map(fmt).join(" / ")} = ${fmt(med((s) => s.roles.caller + s.roles.broker + s.roles.workers))}   (${Math.round(med((s) => s.tasksPerSec)).toLocaleString("en-US")} tasks/s)`);
    }
  }
  if (args.save) {
    mkdirSync(dirname(resolve(args.save)), { recursive: true });
    writeFileSync(args.save, out.join("\n") + "\n");
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function fmt(x) {
  return x.toFixed(2);
}

/**
 * Runs the caller in a child node process; resolves to its report once it (and its children)
 * exited. The caller says when the measured phase is about to start and when it has ended; with
 * --perf, perf records the four processes between the two.
 */
function startCaller(dist, profDir, opts) {
  const prof = opts.prof ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`, `--cpu-prof-interval=${opts.interval}`] : [];
  if (opts.perf) prof.push("--perf-basic-prof", "--interpreted-frames-native-stack");
  prof.push(`--import=${gcRecorder(profDir)}`);
  const env = { ...process.env, ZEROLB_DIST: dist, ZEROLB_CHILD_FLAGS: prof.join(" ") };
  const spec = { tasks: opts.tasks, warmup: opts.warmup, records: opts.records, payload: opts.payload, latency: opts.latency };
  return new Promise((resolvePromise, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ["--as-caller", JSON.stringify(spec)], { env, execArgv: prof, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    let report;
    let perf;
    let pids = [];
    const timer = setTimeout(() => child.kill("SIGTERM"), 300_000);
    const onSigint = () => child.kill("SIGTERM");
    process.once("SIGINT", onSigint);
    child.on("message", async (m) => {
      try {
        if (m.type === "measure") {
          pids = m.processes.map((p) => p.pid);
          if (opts.perf) perf = await startPerf(pids, join(profDir, "perf.data"));
          child.send({ type: "go" });
        } else if (m.type === "measured") {
          await perf?.stop();
          child.send({ type: "stopped" });
        } else if (m.type === "report") report = m;
      } catch (err) {
        report = { ok: false, error: err.message };
        child.kill("SIGTERM");
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      process.off("SIGINT", onSigint);
      void perf?.stop();
      if (report?.ok) return resolvePromise(report);
      removePerfMaps(pids);
      reject(new Error(`the caller failed (${signal ?? `exit code ${code}`}): ${report?.error ?? "no report"}`));
    });
  });
}

const PERF_HZ = 2999;

/** Starts `perf record` (on-CPU samples with call chains) on these processes; resolves once it runs. */
async function startPerf(pids, file) {
  const child = spawn("perf", ["record", "-q", "-e", "cpu-clock", "-F", String(PERF_HZ), "-g", "-p", pids.join(","), "-o", file], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once("close", resolve));
  const failed = new Promise((_, reject) => {
    child.once("error", (err) => reject(new Error(`--perf needs the perf tool: ${err.message}`)));
    child.once("exit", (code) => reject(new Error(`perf record exited (${code}): ${stderr.trim()}`)));
  });
  // perf has no "recording now" message: give it a moment to attach to every thread.
  await Promise.race([failed, new Promise((r) => setTimeout(r, 300))]);
  failed.catch(() => {});
  let stopping;
  return {
    stop() {
      stopping ??= (child.exitCode === null && child.kill("SIGINT"), exited);
      return stopping;
    },
  };
}

/**
 * A module given to every process with --import (a data: URL, so no file to ship and no spaces for
 * ZEROLB_CHILD_FLAGS to split on): it records each garbage collection on the main thread (start on
 * the profiler's clock, µs; pause, µs; kind) and writes them to <dir>/gc.<pid>.json at exit.
 */
function gcRecorder(dir) {
  const code = `
    import { PerformanceObserver, performance } from "node:perf_hooks";
    import { writeFileSync } from "node:fs";
    const offset = Number(process.hrtime.bigint() / 1000n) - performance.now() * 1000;
    const gcs = [];
    const take = (entries) => { for (const e of entries) gcs.push([Math.round(offset + e.startTime * 1000), Math.round(e.duration * 1000), e.detail?.kind ?? e.kind]); };
    const observer = new PerformanceObserver((list) => take(list.getEntries()));
    observer.observe({ entryTypes: ["gc"] });
    process.on("exit", () => { take(observer.takeRecords()); writeFileSync(${JSON.stringify(dir)} + "/gc." + process.pid + ".json", JSON.stringify(gcs)); });
  `;
  return `data:text/javascript,${encodeURIComponent(code.replace(/\n\s*/g, " ").trim())}`;
}

/** Main-thread GC of each process in the window: { pid: { scavenges, major, pauseMs } } (from gcRecorder). */
function loadGc(dir, report) {
  const [t0, t1] = report.windowUs;
  const out = {};
  for (const { pid } of report.processes) {
    let gcs;
    try {
      gcs = JSON.parse(readFileSync(join(dir, `gc.${pid}.json`), "utf8"));
    } catch {
      continue;
    }
    const d = (out[pid] = { scavenges: 0, major: 0, pauseMs: 0 });
    for (const [start, us, kind] of gcs) {
      if (start < t0 || start > t1) continue;
      d.pauseMs += us / 1000;
      // perf_hooks.constants: NODE_PERFORMANCE_GC_MINOR = 1, MAJOR = 4, INCREMENTAL = 8, WEAKCB = 16
      if (kind === 1) d.scavenges++;
      else if (kind === 4) d.major++;
    }
  }
  return out;
}

function describeCommit(dist) {
  // dist/ sits in a checkout (or is a copy of one): name its commit when there is one.
  for (const dir of [dirname(dist), ROOT]) {
    if (!existsSync(join(dir, ".git"))) continue;
    try {
      const head = readFileSync(join(dir, ".git"), "utf8").trim(); // a worktree's .git file
      if (head.startsWith("gitdir:")) {
        const gitdir = resolve(dir, head.slice(7).trim());
        return ` (worktree at ${readFileSync(join(gitdir, "HEAD"), "utf8").trim().slice(0, 10)})`;
      }
    } catch {
      // a plain .git directory
    }
    try {
      const ref = readFileSync(join(dir, ".git", "HEAD"), "utf8").trim();
      const sha = ref.startsWith("ref: ") ? readFileSync(join(dir, ".git", ref.slice(5)), "utf8").trim() : ref;
      return ` (checkout with HEAD at ${sha.slice(0, 10)})`;
    } catch {
      return "";
    }
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// The caller: W1 as bench/child.js runs it, with the measured window on the profiler's clock.

async function runCaller({ tasks, warmup, records: useRecords, payload, latency }) {
  const { sample, delta } = await import("./lib/proc.js");
  const peer = await import("./peers/zerolb.js");
  const handler = join(HERE, "handlers", payload ? "echo.js" : useRecords ? "record-id.js" : "noop.js");
  // W7a: the records are built before the clock starts; their ids are 0..n-1, as range(n) is.
  const records = useRecords ? (await import("./lib/records.js")).makeRecords(Math.max(tasks, warmup)) : undefined;
  // W3: 16 preallocated 64 KiB Buffers yielded in turn, as the bench does.
  const buffers = payload ? Array.from({ length: 16 }, (_, i) => Buffer.alloc(PAYLOAD_BYTES, i)) : undefined;
  const range = payload ? (n) => Array.from({ length: n }, (_, i) => buffers[i % 16]) : useRecords ? (n) => records.slice(0, n) : numbers;
  const check = payload ? checkBytes : checkAll;
  const pool = peer.create({ handler, workers: 2, concurrency: 1 });
  if (latency) {
    // W4: one task at a time, as the bench's call() loop does; its results add up as W1's do.
    const stream = pool.stream.bind(pool);
    pool.stream = async (items) => {
      items = [...items];
      if (items.length < 1000) return stream(items); // warm() goes on as it is
      let count = 0;
      let sum = 0;
      for (const item of items) {
        sum += await pool.call(item);
        count++;
      }
      return { count, sum };
    };
  }
  process.once("SIGTERM", () => pool.forceClose().finally(() => process.exit(143)));
  try {
    await pool.ready;
    await pool.call(0);
    await pool.warm();
    await pool.stream(range(warmup)); // JIT warm-up, as W1 does
    const procs = [{ role: "caller", pid: process.pid }, ...pool.processes()];
    await ask({ type: "measure", processes: procs }, "go");
    const before = { procs: sample(pool.processes()), threads: threadSample(procs), counters: counterSample(procs) };
    const t0 = nowUs();
    const value = await pool.stream(range(tasks));
    const t1 = nowUs();
    const after = { procs: sample(pool.processes()), threads: threadSample(procs), counters: counterSample(procs) };
    await ask({ type: "measured" }, "stopped");
    check(value, tasks);
    const ms = (t1 - t0) / 1000;
    await pool.close();
    process.send({
      type: "report",
      ok: true,
      tasks,
      ms,
      tasksPerSec: (tasks / ms) * 1000,
      windowUs: [t0, t1],
      processes: procs,
      resources: delta(before.procs, after.procs),
      threads: threadDelta(before.threads, after.threads),
      counters: Object.fromEntries(Object.entries(after.counters).map(([pid, a]) => [pid, Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (before.counters[pid]?.[k] ?? 0)]))])),
    });
  } catch (err) {
    await pool.forceClose().catch(() => {});
    process.send({ type: "report", ok: false, error: err?.stack ?? String(err) });
    process.exitCode = 1;
  }
}

/** Sends a message to the parent and waits for its answer of type `answer`. */
function ask(message, answer) {
  return new Promise((resolve) => {
    const onMessage = (m) => {
      if (m?.type !== answer) return;
      process.off("message", onMessage); // a listener would keep the IPC channel, and the process, alive
      resolve(m);
    };
    process.on("message", onMessage);
    process.send(message);
  });
}

/** W1's input, as in workloads.js: the numbers 0..n-1 from a generator. */
function* numbers(n) {
  for (let i = 0; i < n; i++) yield i;
}

/** Every task came back exactly once (the noop handler returns its input), as in workloads.js. */
const PAYLOAD_BYTES = 64 * 1024;

function checkBytes({ count, sum }, n) {
  if (count !== n || sum !== n * PAYLOAD_BYTES) throw new Error(`expected ${n} results of ${PAYLOAD_BYTES} bytes; got ${count} of ${sum} bytes in all`);
}

function checkAll({ count, sum }, n) {
  if (count !== n || sum !== (n * (n - 1)) / 2) throw new Error(`expected ${n} results summing to ${(n * (n - 1)) / 2}; got ${count} summing to ${sum}`);
}

/** Microseconds on CLOCK_MONOTONIC: the clock of a .cpuprofile's startTime and sample times. */
function nowUs() {
  return Number(process.hrtime.bigint() / 1000n);
}

const TICK_MS = 10; // USER_HZ, as in lib/proc.js

/**
 * CPU ms of every thread of the given processes: { pid: { tid: { name, main, cpuMs } } }. From
 * /proc/<pid>/task/<tid>/schedstat (ns) where the kernel has it, else stat (10 ms ticks).
 */
function threadSample(procs) {
  const out = {};
  for (const { pid } of procs) {
    const threads = (out[pid] = {});
    let tids = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // not Linux, or gone
    }
    for (const tid of tids) {
      const dir = `/proc/${pid}/task/${tid}`;
      try {
        const name = readFileSync(`${dir}/comm`, "utf8").trim();
        let cpuMs;
        try {
          cpuMs = Number(readFileSync(`${dir}/schedstat`, "utf8").split(" ")[0]) / 1e6;
        } catch {
          const stat = readFileSync(`${dir}/stat`, "utf8");
          const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
          cpuMs = (Number(rest[11]) + Number(rest[12])) * TICK_MS;
        }
        threads[tid] = { name, main: tid === String(pid), cpuMs };
      } catch {
        // thread ended meanwhile
      }
    }
  }
  return out;
}

/**
 * Per process, CPU ms between two samples of: its main thread (JS), ZeroMQ's threads (ZMQbg/IO/0
 * does the socket I/O), V8's profiler thread (v8:ProfEvntProc: the profiler's own cost), and the
 * rest (threads named "node": V8's platform workers for concurrent GC and the optimizing
 * compiler, libuv's pool).
 */
function threadDelta(before, after) {
  const out = {};
  for (const [pid, threads] of Object.entries(after)) {
    const d = (out[pid] = { main: 0, zmq: 0, prof: 0, other: 0 });
    for (const [tid, t] of Object.entries(threads)) {
      const ms = t.cpuMs - (before[pid]?.[tid]?.cpuMs ?? 0);
      d[t.main ? "main" : t.name.startsWith("ZMQbg") ? "zmq" : t.name.startsWith("v8:Prof") ? "prof" : "other"] += ms;
    }
  }
  return out;
}

/**
 * Per process: how often its JS thread and its ZeroMQ I/O thread went to sleep (voluntary context
 * switches: each one is a wake-up later), and its read/write syscalls from /proc/<pid>/io. libzmq
 * moves socket data with send/recv, which that file does not count; what it counts here is mostly
 * the eventfd signalling between the JS thread and the I/O thread (a message handed over or taken).
 */
function counterSample(procs) {
  const out = {};
  for (const { pid } of procs) {
    const c = (out[pid] = { mainSleeps: 0, mainPreempted: 0, ioSleeps: 0, syscalls: 0 });
    const switches = (tid, kind = "voluntary") => Number(new RegExp(`^${kind}_ctxt_switches:\\s+(\\d+)`, "m").exec(readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8"))?.[1] ?? 0);
    try {
      c.mainSleeps = switches(pid);
      c.mainPreempted = switches(pid, "nonvoluntary");
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        if (readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").startsWith("ZMQbg/IO")) c.ioSleeps += switches(tid);
      }
      const io = readFileSync(`/proc/${pid}/io`, "utf8");
      for (const key of ["syscr", "syscw"]) c.syscalls += Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(io)?.[1] ?? 0);
    } catch {
      // not Linux, or gone
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading the profiles.

/** { role: [profile of each process of that role] }, matched by the pid in the file name. */
function loadProfiles(dir, report) {
  const roleOf = new Map(report.processes.map((p) => [p.pid, p.role]));
  const byRole = {};
  for (const file of readdirSync(dir)) {
    const m = /^CPU\.\d+\.\d+\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(file);
    if (!m) continue;
    const role = roleOf.get(Number(m[1]));
    if (!role) continue; // a process of an earlier start (there should be none)
    (byRole[role] ??= []).push({ pid: Number(m[1]), profile: JSON.parse(readFileSync(join(dir, file), "utf8")) });
  }
  for (const { role, pid } of report.processes) {
    if (!byRole[role]?.some((p) => p.pid === pid)) console.warn(`warning: no profile from ${role} ${pid} (it did not exit cleanly?)`);
  }
  return byRole;
}

const SPECIAL = new Set(["(garbage collector)", "(program)", "(idle)", "(root)"]);

/**
 * Self and inclusive sample counts per function, counting only samples in [t0, t1]:
 * { self: Map<key, n>, incl: Map<key, n>, idle, busy, frames: Map<key, callFrame>, lines }, where
 * lines: Map<key, Map<line, ticks>> is V8's per-line self ticks over the whole profile (not only the
 * window: V8 keeps no line per sample).
 */
function countSamples(profiles, [t0, t1], acc = { self: new Map(), incl: new Map(), idle: 0, busy: 0, frames: new Map(), lines: new Map() }) {
  for (const { profile } of profiles) {
    const parent = new Map();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const keyOf = new Map();
    for (const n of profile.nodes) {
      const f = n.callFrame;
      const key = SPECIAL.has(f.functionName) ? f.functionName : `${f.functionName || "(anonymous)"}\t${f.url}\t${f.lineNumber}\t${f.columnNumber}`;
      keyOf.set(n.id, key);
      acc.frames.set(key, f);
      if (n.positionTicks) {
        const lines = acc.lines.get(key) ?? new Map();
        for (const { line, ticks } of n.positionTicks) lines.set(line, (lines.get(line) ?? 0) + ticks);
        acc.lines.set(key, lines);
      }
    }
    let t = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i];
      if (t < t0 || t > t1) continue;
      const id = profile.samples[i];
      const key = keyOf.get(id);
      if (key === "(idle)") {
        acc.idle++;
        continue;
      }
      acc.busy++;
      acc.self.set(key, (acc.self.get(key) ?? 0) + 1);
      const seen = new Set();
      for (let n = id; n !== undefined; n = parent.get(n)) {
        const k = keyOf.get(n);
        if (seen.has(k) || k === "(root)") continue;
        seen.add(k);
        acc.incl.set(k, (acc.incl.get(k) ?? 0) + 1);
      }
    }
  }
  return acc;
}

/** What kind of code a frame is, for the self-time split. */
function kindOf(key, frame) {
  if (key === "(garbage collector)") return "GC (main thread)";
  if (key === "(program)") return "(program): native code with no JS on the stack";
  const url = frame.url;
  if (!url) return "V8 builtins / C++ bindings called from JS";
  if (url.startsWith("node:")) return "node internals (node:*)";
  if (url.startsWith("data:")) return "this script's GC recorder";
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1] === "zeromq" ? "zeromq (JS binding)" : pkg[1];
  if (url.includes("/bench/")) return "bench (generator, loop)";
  if (url.includes("/dist/")) return "zerolb";
  return "other";
}

/** "name  lib/broker.ts:120" for a frame; package-relative paths, source-mapped in zerolb. */
function where(frame) {
  const url = frame.url;
  if (!url) return "(native)";
  const line = frame.lineNumber + 1;
  if (url.startsWith("node:")) return `${url}:${line}`;
  if (url.startsWith("data:")) return "(GC recorder)";
  const path = url.replace(/^file:\/\//, "");
  const nm = path.lastIndexOf("/node_modules/");
  if (nm >= 0) return `${path.slice(nm + "/node_modules/".length)}:${line}`;
  if (path.includes("/bench/")) return `${path.slice(path.lastIndexOf("/bench/") + 1)}:${line}`;
  const d = path.lastIndexOf("/dist/");
  if (d >= 0) {
    const mapped = sourceMapped(path, frame.lineNumber, frame.columnNumber);
    return mapped ?? `${path.slice(d + 1)}:${line}`;
  }
  return `${path}:${line}`;
}

// A minimal source-map reader (version 3, VLQ mappings), enough to turn dist/x.js:L:C into lib/x.ts:L.
const maps = new Map();
const B64 = new Map([..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"].map((c, i) => [c, i]));

function sourceMapped(path, line, column) {
  if (!maps.has(path)) maps.set(path, readSourceMap(path));
  const map = maps.get(path);
  const segments = map?.lines[line];
  if (!segments) return undefined;
  let best;
  for (const s of segments) if (s.col <= column) best = s;
  best ??= segments[0];
  const src = map.sources[best.src];
  if (src === undefined) return undefined;
  const rel = resolve(dirname(path), map.sourceRoot ?? "", src);
  const lib = rel.lastIndexOf("/lib/");
  return `${lib >= 0 ? rel.slice(lib + 1) : basename(rel)}:${best.srcLine + 1}`;
}

function readSourceMap(path) {
  let raw;
  try {
    raw = JSON.parse(readFileSync(`${path}.map`, "utf8"));
  } catch {
    return undefined;
  }
  const lines = [];
  let src = 0;
  let srcLine = 0;
  let srcCol = 0;
  for (const text of raw.mappings.split(";")) {
    const segments = [];
    let col = 0;
    for (const seg of text.split(",")) {
      if (!seg) continue;
      const v = decodeVlq(seg);
      col += v[0];
      if (v.length >= 4) {
        src += v[1];
        srcLine += v[2];
        srcCol += v[3];
        segments.push({ col, src, srcLine });
      }
    }
    lines.push(segments);
  }
  return { lines, sources: raw.sources, sourceRoot: raw.sourceRoot };
}

function decodeVlq(text) {
  const out = [];
  let value = 0;
  let shift = 0;
  for (const c of text) {
    const digit = B64.get(c);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    out.push(value & 1 ? -(value >>> 1) : value >>> 1);
    value = 0;
    shift = 0;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The report.

const ROLES = ["caller", "broker", "workers"];

/** Prints the breakdown of one run; returns { role: CPU µs/task }. */
function summarise(report, profiles, opts, print) {
  const { tasks } = report;
  const perTask = (ms) => (ms * 1000) / tasks;
  const pidsOf = (role) => report.processes.filter((p) => p.role === role).map((p) => p.pid);
  const cpu = {};
  const lines = [];
  for (const role of ROLES) {
    const r = report.resources[role];
    cpu[role] = r ? perTask(r.cpuMs) : NaN;
    const th = { main: 0, zmq: 0, prof: 0, other: 0 };
    for (const pid of pidsOf(role)) {
      const d = report.threads[pid];
      if (!d) continue;
      th.main += d.main;
      th.zmq += d.zmq;
      th.other += d.other;
      th.prof += d.prof;
    }
    lines.push({ role, cpu: cpu[role], th, n: pidsOf(role).length });
  }
  print("");
  print(`CPU µs per task over the measured phase (${report.tasks} tasks), from /proc:`);
  print(`  total: the processes' CPU time (/proc/<pid>/stat, 10 ms ticks, as the bench measures it);`);
  print(`  by thread (/proc/<pid>/task/<tid>/schedstat, ns): main (JS), ZeroMQ I/O, V8 helpers (GC, compiler) and libuv, profiler (v8:ProfEvntProc)`);
  print(`  role                    total    main   ZeroMQ   helpers   profiler   total less profiler`);
  const row = (name, v) => print(`  ${name.padEnd(20)} ${v.map((x, i) => fmt(x).padStart([8, 7, 8, 9, 10, 21][i])).join(" ")}`);
  const sum = [0, 0, 0, 0, 0, 0];
  for (const l of lines) {
    const v = [l.cpu, perTask(l.th.main), perTask(l.th.zmq), perTask(l.th.other), perTask(l.th.prof), l.cpu - perTask(l.th.prof)];
    v.forEach((x, i) => (sum[i] += x));
    row(`${l.role} (${l.n})`, v);
  }
  row("all", sum);
  print("");
  print(`  per 1000 tasks: the JS thread's sleeps (voluntary context switches: the event loop waited, then woke) and`);
  print(`  preemptions (involuntary ones: another thread took its CPU), the ZeroMQ I/O thread's sleeps, and read/write`);
  print(`  syscalls (/proc/<pid>/io; libzmq's socket send/recv are not counted there: mostly its eventfd signalling)`);
  for (const l of lines) {
    const c = { mainSleeps: 0, mainPreempted: 0, ioSleeps: 0, syscalls: 0 };
    for (const pid of pidsOf(l.role)) for (const k of Object.keys(c)) c[k] += report.counters[pid]?.[k] ?? 0;
    const k = (x) => ((x * 1000) / tasks).toFixed(1).padStart(6);
    print(`  ${`${l.role} (${l.n})`.padEnd(20)} JS thread sleeps ${k(c.mainSleeps)}, preempted ${k(c.mainPreempted)}   I/O thread sleeps ${k(c.ioSleeps)}   syscalls ${k(c.syscalls)}`);
  }
  print("");
  print(`  GC pauses on the main thread in the window (perf_hooks "gc" entries; wall time, so it includes waiting for GC helper threads):`);
  for (const l of lines) {
    const g = { scavenges: 0, major: 0, pauseMs: 0 };
    for (const pid of pidsOf(l.role)) for (const k of Object.keys(g)) g[k] += report.gc[pid]?.[k] ?? 0;
    print(`  ${`${l.role} (${l.n})`.padEnd(20)} ${String(g.scavenges).padStart(4)} scavenges, ${g.major} mark-compact, ${g.pauseMs.toFixed(1)} ms = ${fmt(perTask(g.pauseMs))} µs/task (${pct(g.pauseMs, l.th.main)} of main-thread CPU)`);
  }

  if (!opts.prof) return cpu;
  print("");
  print("V8's profiler samples wall time: time a thread spends descheduled is charged to the line it stopped at (often a");
  print("socket send that woke another thread); --perf counts on-CPU time only.");
  for (const l of lines) {
    const profs = profiles[l.role] ?? [];
    if (!profs.length) continue;
    const c = countSamples(profs, report.windowUs);
    const mainUs = perTask(l.th.main);
    print("");
    print(`--- ${l.role}: ${profs.length} profile${profs.length > 1 ? "s" : ""}, ${c.busy} busy samples in the window (${c.idle} idle ones left out); main thread ${fmt(mainUs)} µs/task`);
    // Self time by kind of code.
    const kinds = new Map();
    for (const [key, n] of c.self) {
      const k = kindOf(key, c.frames.get(key));
      kinds.set(k, (kinds.get(k) ?? 0) + n);
    }
    print(`  self time by kind: ${[...kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${pct(n, c.busy)}`).join(", ")}`);
    // Top functions by self time.
    print(`  top ${opts.top} by self time (% of busy samples, ≈ µs/task of main-thread CPU):`);
    const top = [...c.self].sort((a, b) => b[1] - a[1]).slice(0, opts.top);
    for (const [key, n] of top) {
      const f = c.frames.get(key);
      const name = SPECIAL.has(key) ? key : f.functionName || "(anonymous)";
      const loc = SPECIAL.has(key) ? "" : where(f);
      print(`    ${pct(n, c.busy).padStart(6)}  ${fmt((n / c.busy) * mainUs).padStart(5)}  ${name.slice(0, 34).padEnd(34)} ${loc}${hotLine(f, c.lines.get(key))}`);
    }
    // Inclusive time of zerolb's own functions: which of its steps the cost sits under.
    const incl = [...c.incl]
      .filter(([key]) => !SPECIAL.has(key) && kindOf(key, c.frames.get(key)) === "zerolb")
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8);
    if (incl.length) {
      print(`  zerolb functions by inclusive time (itself and what it calls):`);
      for (const [key, n] of incl) {
        const f = c.frames.get(key);
        print(`    ${pct(n, c.busy).padStart(6)}  ${(f.functionName || "(anonymous)").slice(0, 34).padEnd(34)} ${where(f)}`);
      }
    }
  }
  return cpu;
}

/**
 * For a zerolb function: its hottest line when it is not the whole story of the function itself,
 * with the code, since a native call (a socket send, a receive) is counted in its JS caller's self time.
 */
function hotLine(frame, lines) {
  if (!lines?.size || kindOf("", frame) !== "zerolb") return "";
  const total = [...lines.values()].reduce((a, b) => a + b, 0);
  const [line, ticks] = [...lines].sort((a, b) => b[1] - a[1])[0];
  if (ticks < 0.3 * total) return ""; // spread over the function: no line stands out
  const path = frame.url.replace(/^file:\/\//, "");
  let code = "";
  try {
    code = readFileSync(path, "utf8").split("\n")[line - 1].trim();
  } catch {
    // the build is gone
  }
  if (!code) return ""; // a line of an inlined function from another file
  if (code.length > 60) code = `${code.slice(0, 57)}...`;
  const at = sourceMapped(path, line - 1, 0) ?? `${basename(path)}:${line}`;
  return `  [hot line ${at}, ${pct(ticks, total)}: ${code}]`;
}

// ---------------------------------------------------------------------------------------------
// --perf: on-CPU samples of every thread (perf record -e cpu-clock), read with perf script.
//
// Why both: V8's profiler takes a sample every interval of wall time and records the stack when
// the signal lands, so on a machine with more runnable threads than cores, time a thread spends
// descheduled is charged to whatever it was doing when it lost the CPU (typically a socket send
// that woke another thread). perf's cpu-clock samples only count time on a CPU. The two agree on
// JS-heavy functions and disagree on code right before a context switch.

/** node --perf-basic-prof writes /tmp/perf-<pid>.map for perf to name JIT code; remove ours. */
function removePerfMaps(pids) {
  for (const pid of pids) rmSync(`/tmp/perf-${pid}.map`, { force: true });
}

const GC_FRAME = /Heap::|Scavenger|ScavengeJob|MarkCompact|MinorMarkSweep|ConcurrentMarking|IncrementalMarking|Sweeper|MarkingVisitor|IterateAndScavenge|SemiSpaceNewSpace|EvacuateNewSpace|GCTracer/;

/**
 * What a sample's CPU time was spent on, from its call chain (leaf first), as [kind, label]. The
 * first frame that says something decides: GC, a JS function (its self time), a V8 builtin or
 * runtime function (with the JS function that called it), the zeromq addon, libuv, node's C++.
 * V8's internal C++ (an allocation, a hash table resize), libc and the kernel are charged to the
 * first of those above them.
 */
function classify(chain) {
  let firstV8;
  const caller = (i) => {
    for (let j = i + 1; j < chain.length; j++) {
      const f = jsFrame(chain[j].sym);
      if (f) return `  <- ${f.functionName || "(anonymous)"} ${where(f)}`;
    }
    return "";
  };
  for (let i = 0; i < chain.length; i++) {
    const { sym, dso } = chain[i];
    if (GC_FRAME.test(sym)) return ["GC (main thread)", /Scaveng|SemiSpace|NewSpace/.test(sym) ? "GC: scavenge" : "GC: marking, sweeping, compaction"];
    const js = jsFrame(sym);
    if (js) return [`JS: ${kindOf("", js).replace(/ \(.*\)$/, "")}`, `${js.functionName || "(anonymous)"}  ${where(js)}`];
    if (sym.startsWith("Builtins_") || /v8::internal::(Runtime|Builtin)_/.test(sym)) {
      const name = sym.replace(/^Builtins_|^v8::internal::/, "").replace(/\(.*$/, "");
      const kind = /Map|Hash|SetPrototype/.test(name)
        ? "V8: Map/Set operations"
        : /Promise|Async|Microtask|Generator|Await|Resume/.test(name)
          ? "V8: promises, async/await"
          : /TypedArray|DataView|ArrayBuffer/.test(name)
            ? "V8: typed arrays, DataView"
            : "V8: other builtins (property access, allocation, arrays, ...)";
      return [kind, `${name}${firstV8 ? ` (${firstV8})` : ""}${caller(i)}`];
    }
    if (dso.endsWith("addon.node")) return ["zeromq addon (C++, libzmq)", `zeromq: ${sym.replace(/\(.*$/, "")}`];
    if (/^uv_|^uv__/.test(sym)) return ["libuv event loop (epoll, timers)", `libuv: ${sym}`];
    if (/^node::|^napi_/.test(sym)) return ["node C++ (bindings, callbacks)", `node: ${sym.replace(/\(.*$/, "")}${caller(i)}`];
    if (/^v8::/.test(sym)) firstV8 ??= sym.replace(/\(.*$/, "").replace(/<[^<>]*>/g, "").replace(/^v8::internal::/, "");
  }
  if (firstV8) return ["V8: other C++", firstV8];
  const leaf = chain[0];
  return ["kernel, libc (no caller in the chain)", leaf ? `${leaf.dso.includes("kernel") ? "[kernel] " : ""}${leaf.sym}` : "?"];
}

/** A JIT frame named from /tmp/perf-<pid>.map: "JS:*name file:///path.js:line:column". */
function jsFrame(sym) {
  const m = /^JS:[*~^+]?(.*?) ?(\S+):(\d+):(\d+)$/.exec(sym);
  return m ? { functionName: m[1], url: m[2], lineNumber: Number(m[3]) - 1, columnNumber: Number(m[4]) - 1 } : undefined;
}

/**
 * perf names JIT code from /tmp/perf-<pid>.map, which only grows: when V8 frees code and puts new
 * code at the same address, perf may pick the old name. Name such frames again here, the latest
 * entry that covers the address winning (the measured phase runs after warm-up, on code made last).
 */
function jitNamer(pid) {
  let entries;
  try {
    entries = readFileSync(`/tmp/perf-${pid}.map`, "utf8").split("\n").flatMap((line, order) => {
      const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
      return m ? [{ start: parseInt(m[1], 16), end: parseInt(m[1], 16) + parseInt(m[2], 16), name: m[3], order }] : [];
    });
  } catch {
    return undefined;
  }
  entries.sort((a, b) => a.start - b.start);
  const cache = new Map();
  return (ip) => {
    if (cache.has(ip)) return cache.get(ip);
    let lo = 0;
    let hi = entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (entries[mid].start <= ip) lo = mid + 1;
      else hi = mid - 1;
    }
    let best;
    for (let i = hi; i >= 0 && i > hi - 2000; i--) {
      const e = entries[i];
      if (e.start <= ip && ip < e.end && (!best || e.order > best.order)) best = e;
    }
    cache.set(ip, best?.name);
    return best?.name;
  };
}

function summarisePerf(report, dir, opts, print) {
  const text = execFileSync("perf", ["script", "-i", join(dir, "perf.data"), "-F", "pid,tid,comm,ip,sym,dso"], {
    encoding: "utf8",
    maxBuffer: 1 << 30,
    stdio: ["ignore", "pipe", "ignore"],
  });
  const roleOf = new Map(report.processes.map((p) => [p.pid, p.role]));
  const namers = new Map(report.processes.map((p) => [p.pid, jitNamer(p.pid)]));
  const acc = {};
  let sample;
  const flush = () => {
    const role = sample && roleOf.get(sample.pid);
    if (role) {
      const a = (acc[role] ??= { main: 0, zmq: 0, other: 0, kinds: new Map(), labels: new Map(), builtins: new Map() });
      const thread = sample.tid === sample.pid ? "main" : sample.comm.startsWith("ZMQbg") ? "zmq" : "other";
      a[thread]++;
      if (thread === "main") {
        const [kind, label] = classify(sample.chain);
        a.kinds.set(kind, (a.kinds.get(kind) ?? 0) + 1);
        a.labels.set(label, (a.labels.get(label) ?? 0) + 1);
        if (kind.startsWith("V8: ") && kind !== "V8: other C++") {
          const name = label.split("  <- ")[0];
          a.builtins.set(name, (a.builtins.get(name) ?? 0) + 1);
        }
      }
    }
    sample = undefined;
  };
  for (const line of text.split("\n")) {
    const head = /^(\S.*?)\s+(\d+)\/(\d+)\s*$/.exec(line);
    if (head) {
      flush();
      sample = { comm: head[1], pid: Number(head[2]), tid: Number(head[3]), chain: [] };
      continue;
    }
    const frame = /^\s+([0-9a-f]+) (.*) \((.*)\)$/.exec(line);
    if (frame && sample) {
      const jit = frame[3].startsWith("/tmp/perf-") && namers.get(sample.pid)?.(parseInt(frame[1], 16));
      sample.chain.push({ sym: jit || frame[2], dso: frame[3] });
    } else if (!line.trim()) flush();
  }
  flush();

  const perTask = (ms) => (ms * 1000) / report.tasks;
  for (const role of ROLES) {
    const a = acc[role];
    if (!a) continue;
    let mainMs = 0;
    for (const p of report.processes) if (p.role === role) mainMs += report.threads[p.pid]?.main ?? 0;
    const mainUs = perTask(mainMs);
    print("");
    print(`--- perf, ${role}: on-CPU samples: main thread ${a.main}, ZeroMQ I/O ${a.zmq}, other threads ${a.other}; main thread ${fmt(mainUs)} µs/task (/proc)`);
    print(`  main thread by kind: ${[...a.kinds].sort((x, y) => y[1] - x[1]).map(([k, n]) => `${k} ${pct(n, a.main)}`).join(", ")}`);
    print(`  top ${opts.top} (share of main-thread on-CPU samples, ≈ µs/task; "<-" names the JS function that called a builtin):`);
    for (const [label, n] of [...a.labels].sort((x, y) => y[1] - x[1]).slice(0, opts.top)) {
      print(`    ${pct(n, a.main).padStart(6)}  ${fmt((n / a.main) * mainUs).padStart(5)}  ${label}`);
    }
    // The same samples by V8 builtin or runtime function alone, whoever called it.
    const topBuiltins = [...a.builtins].sort((x, y) => y[1] - x[1]).slice(0, 8);
    if (topBuiltins.length) print(`  V8 builtins/runtime by name (all callers): ${topBuiltins.map(([k, n]) => `${k} ${pct(n, a.main)}`).join(", ")}`);
  }
}

function pct(n, of) {
  return `${((100 * n) / of).toFixed(1)}%`;
}

// ---------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") out.help = true;
    else if (a === "--no-prof" || a === "--perf" || a === "--records" || a === "--payload" || a === "--latency") out[a.slice(2)] = true;
    else if (a.startsWith("--")) {
      const [k, v] = a.includes("=") ? [a.slice(2, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a.slice(2), argv[++i]];
      if (v === undefined) throw new TypeError(`${a} needs a value`);
      out[k] = v;
    } else throw new TypeError(`unexpected argument ${a} (see --help)`);
  }
  return out;
}

function int(v, name) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`${name} must be a positive integer; received ${v}`);
  return n;
}

// Last, so that every constant above is initialised before either side runs.
if (process.argv[2] === "--as-caller") await runCaller(JSON.parse(process.argv[3]));
else await main();
