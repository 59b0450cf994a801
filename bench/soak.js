// Soak: every fault class at random against a real LoadBalancer, checking that nothing is lost,
// doubled or stuck; and the throughput of a map while a worker is killed every second, against
// the same map without faults.
//
// Usage: npm run build && node bench/soak.js [--minutes 10] [--workers 2] [--throughput-seconds 30] [--seed N]
//   --minutes 0 skips the chaos part; --throughput-seconds 0 skips the throughput part.
// Exits 1 if anything was lost, doubled, wrong or stuck. Prints one JSON report at the end.
//
// The chaos part runs rounds until the time is up. Each round is a map or a batch of send/receive
// tasks (some with `after`) over a mix of tasks (quick ones, sleeps, handlers that throw odd values,
// poison tasks that kill their worker, synchronous tasks past their timeout), consumed fully, or
// cut short by `break` or an abort. Meanwhile a fault is injected every 0.3–2 s: a worker or the
// broker SIGKILLed, or frozen (SIGSTOP) for 0.2–7 s. Each round must end within a generous bound,
// every task of a fully consumed round must have the outcome its kind says, once.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { LoadBalancer } from "../dist/index.js";

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    workers: { type: "string", default: "2" },
    "throughput-seconds": { type: "string", default: "30" },
    seed: { type: "string", default: String(Date.now() % 1_000_000) },
  },
});
const minutes = Number(args.minutes);
const workers = Number(args.workers);
const throughputSeconds = Number(args["throughput-seconds"]);
const worker = fileURLToPath(new URL("../test/fixtures/ops.js", import.meta.url));

// A small deterministic PRNG, so a run's choices can be replayed with --seed.
let state = Number(args.seed) || 1;
const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = (n) => Math.floor(random() * n);

function rssKb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function signal(pid, name) {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

/** `promise`, or a rejection naming `what` after `ms` (a round that hangs fails the soak). */
function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: stuck for ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

// ---- throughput under one worker kill per second ------------------------------------------------

async function throughput(faults) {
  const lb = new LoadBalancer({ worker, workers });
  await lb.ready;
  let kills = 0;
  const killer = faults
    ? setInterval(() => {
        const pids = lb.pids.workers;
        if (pids.length > 0 && signal(pids[pick(pids.length)], "SIGKILL")) kills++;
      }, 1000)
    : undefined;
  // Records shaped like real work (a small object per task), for the given time.
  let next = 0;
  function* source() {
    for (;;) yield { op: "echo", n: next++, text: "a record of moderate size, like a line of a log file" };
  }
  const seen = new Set();
  let duplicated = 0;
  const t0 = performance.now();
  const end = t0 + throughputSeconds * 1000;
  try {
    for await (const r of lb.map(source(), { ordered: false })) {
      if (seen.has(r.n)) duplicated++;
      seen.add(r.n);
      if (performance.now() >= end) break;
    }
  } finally {
    clearInterval(killer);
  }
  const seconds = (performance.now() - t0) / 1000;
  const s = lb.stats();
  await lb.close();
  return { faults, seconds: +seconds.toFixed(1), tasks: seen.size, tasksPerSecond: Math.round(seen.size / seconds), duplicated, kills, retried: s.retried, workerRestarts: s.workerRestarts };
}

// ---- chaos ----------------------------------------------------------------------------------------

/** A task of a random kind, and the outcome it must have. */
function makeTask(i) {
  const roll = random();
  if (roll < 0.8) return { input: i, expect: { ok: true, value: i * 2 } };
  if (roll < 0.9) return { input: { op: "sleep", ms: 1 + pick(20), value: `s${i}` }, expect: { ok: true, value: `s${i}` } };
  if (roll < 0.95) return { input: { op: "throw", message: `t${i}` }, expect: { ok: false, code: "ERR_ZEROLB_TASK_FAILED" } };
  if (roll < 0.99) return { input: { op: "odd", kind: pick(3) }, expect: { ok: false, code: "ERR_ZEROLB_TASK_FAILED" } };
  if (roll < 0.998) return { input: { op: "busy", ms: 2000, value: "late" }, timeout: 300, expect: { ok: false, code: "ERR_ZEROLB_TIMEOUT" } };
  return { input: { op: "exit", code: 7 }, expect: { ok: false, code: "ERR_ZEROLB_WORKER_EXIT" } };
}

/**
 * Whether outcome `got` is the one `expect` says, or one the faults explain: a task whose workers
 * died maxAttempts times under it fails with WorkerExitError (under kill storms that can be an
 * innocent task), a timed task on a worker frozen past its timeout fails with TimeoutError, and a
 * task after one of those fails with DependencyError. Anything else is a problem.
 */
function check(expect, got, problems, where, timed = false) {
  const code = got.error?.code;
  if (expect.ok === got.ok && (expect.ok ? JSON.stringify(expect.value) === JSON.stringify(got.value) : code === expect.code)) return "expected";
  if (!got.ok && (code === "ERR_ZEROLB_WORKER_EXIT" || (timed && code === "ERR_ZEROLB_TIMEOUT") || code === "ERR_ZEROLB_DEPENDENCY_FAILED")) {
    if (expect.ok) outcomes.innocentFailures++;
    outcomes.byFaults++;
    return "fault";
  }
  problems.push(`${where}: ${got.ok ? `value ${JSON.stringify(got.value)}` : `error ${code} (${got.error?.message})`}, expected ${expect.ok ? JSON.stringify(expect.value) : expect.code}`);
  return "wrong";
}

/** Outcomes across the chaos run: as expected, explained by faults (and of those, tasks that should have succeeded). */
const outcomes = { expected: 0, byFaults: 0, innocentFailures: 0 };

async function mapRound(lb, round, problems) {
  const n = 200 + pick(3000);
  const tasks = Array.from({ length: n }, (_, i) => makeTask(i));
  // One timeout per map: a round with a timed task gives the map its timeout.
  const timeout = tasks.some((t) => t.timeout) ? 300 : undefined;
  if (!timeout) for (const t of tasks) if (t.expect.code === "ERR_ZEROLB_TIMEOUT") t.expect = { ok: true, value: "late" };
  const how = random() < 0.7 ? "full" : random() < 0.5 ? "break" : "abort";
  const stopAt = pick(n);
  const abort = new AbortController();
  const seen = new Uint8Array(n);
  let delivered = 0;
  const ordered = random() < 0.5;
  try {
    for await (const row of lb.map(tasks.map((t) => t.input), { settled: true, ordered, timeout, signal: abort.signal })) {
      if (seen[row.index]) problems.push(`round ${round}: item ${row.index} delivered twice`);
      seen[row.index] = 1;
      delivered++;
      if (how === "full" && check(tasks[row.index].expect, row, problems, `round ${round} item ${row.index}`, timeout !== undefined) === "expected") outcomes.expected++;
      if (ordered && row.index !== delivered - 1) problems.push(`round ${round}: ordered map yielded item ${row.index} at position ${delivered - 1}`);
      if (delivered === stopAt && how === "break") break;
      if (delivered === stopAt && how === "abort") abort.abort(new Error("soak abort"));
    }
  } catch (err) {
    if (!(how === "abort" && err?.message === "soak abort")) problems.push(`round ${round}: map threw ${err?.code ?? ""} ${err?.message}`);
  }
  if (how === "full" && delivered !== n) problems.push(`round ${round}: ${delivered} of ${n} delivered`);
  return { kind: "map", how, n, delivered };
}

async function sendRound(lb, round, problems) {
  const n = 50 + pick(400);
  const tasks = new Map();
  for (let i = 0; i < n; i++) {
    const task = random() < 0.9 ? { input: i, expect: { ok: true, value: i * 2 } } : makeTask(i);
    const id = `r${round}-${i}`;
    // Now and then a task after an earlier one of the round: it fails if that one failed.
    task.parent = i > 0 && random() < 0.2 ? `r${round}-${pick(i)}` : undefined;
    tasks.set(id, task);
    await lb.send(task.input, { id, after: task.parent ? [task.parent] : undefined, timeout: task.timeout });
  }
  const got = new Map();
  for (let i = 0; i < n; i++) {
    const r = await lb.receive();
    if (got.has(r.id)) problems.push(`round ${round}: ${r.id} received twice`);
    if (!tasks.has(r.id)) problems.push(`round ${round}: unexpected id ${r.id}`);
    got.set(r.id, r);
  }
  // A dependent's expected outcome follows what its parent's actually was.
  for (const [id, task] of tasks) {
    if (task.parent && !got.get(task.parent)?.ok) task.expect = { ok: false, code: "ERR_ZEROLB_DEPENDENCY_FAILED" };
    if (got.has(id) && check(task.expect, got.get(id), problems, `round ${round} ${id}`, task.timeout !== undefined) === "expected") outcomes.expected++;
  }
  return { kind: "send", n };
}

async function chaos() {
  const lb = new LoadBalancer({ worker, workers }); // the default timeoutGrace (1 s): see bench/README.md, Soak
  await lb.ready;
  const peak = { caller: 0, broker: 0, worker: 0 };
  const faults = { workerKill: 0, brokerKill: 0, workerFreeze: 0, brokerFreeze: 0 };
  const frozen = new Set();
  let stop = false;
  const sample = setInterval(() => {
    const { broker, workers: pids } = lb.pids;
    peak.caller = Math.max(peak.caller, rssKb(process.pid));
    if (broker) peak.broker = Math.max(peak.broker, rssKb(broker));
    for (const pid of pids) peak.worker = Math.max(peak.worker, rssKb(pid));
  }, 250);
  const injector = (async () => {
    while (!stop) {
      await new Promise((r) => setTimeout(r, 300 + pick(1700)));
      if (stop) break;
      const { broker, workers: pids } = lb.pids;
      const roll = random();
      // The broker is killed or frozen less often than workers: the restart budget is 5 a minute.
      if (roll < 0.45 && pids.length > 0) {
        if (signal(pids[pick(pids.length)], "SIGKILL")) faults.workerKill++;
      } else if (roll < 0.75 && pids.length > 0) {
        const pid = pids[pick(pids.length)];
        if (signal(pid, "SIGSTOP")) {
          faults.workerFreeze++;
          frozen.add(pid);
          setTimeout(() => (signal(pid, "SIGCONT"), frozen.delete(pid)), 200 + pick(7000));
        }
      } else if (roll < 0.87 && broker) {
        if (signal(broker, "SIGSTOP")) {
          faults.brokerFreeze++;
          frozen.add(broker);
          await new Promise((r) => setTimeout(r, 200 + pick(7000)));
          signal(broker, "SIGCONT");
          frozen.delete(broker);
        }
      } else if (broker && faults.brokerKill < faults.workerKill / 8) {
        if (signal(broker, "SIGKILL")) faults.brokerKill++;
      }
    }
  })();
  const problems = [];
  const rounds = [];
  const end = Date.now() + minutes * 60_000;
  const t0 = performance.now();
  try {
    for (let round = 0; Date.now() < end && problems.length < 20; round++) {
      const run = random() < 0.75 ? mapRound(lb, round, problems) : sendRound(lb, round, problems);
      rounds.push(await within(run, 120_000, `round ${round}`));
    }
  } catch (err) {
    problems.push(err.message);
    // What the pool looked like when the round gave up: where the missing tasks are held.
    const s = lb.stats();
    problems.push(`when stuck: ${JSON.stringify({ queued: s.queued, waiting: s.waiting, inFlight: s.inFlight, pids: lb.pids, workers: s.workers })}`);
  } finally {
    stop = true;
    await injector;
    for (const pid of frozen) signal(pid, "SIGCONT");
    clearInterval(sample);
  }
  const s = lb.stats();
  await within(lb.close({ force: true }), 30_000, "close").catch((err) => problems.push(err.message));
  return {
    minutes: +((performance.now() - t0) / 60_000).toFixed(1),
    rounds: rounds.length,
    tasks: rounds.reduce((n, r) => n + r.n, 0),
    byKind: {
      mapsFull: rounds.filter((r) => r.kind === "map" && r.how === "full").length,
      mapsBroken: rounds.filter((r) => r.kind === "map" && r.how === "break").length,
      mapsAborted: rounds.filter((r) => r.kind === "map" && r.how === "abort").length,
      sendRounds: rounds.filter((r) => r.kind === "send").length,
    },
    faults,
    stats: { retried: s.retried, workerRestarts: s.workerRestarts, brokerRestarts: s.brokerRestarts, duplicatesDropped: s.duplicatesDropped, timedOut: s.timedOut, failed: s.failed },
    outcomes,
    peakRssMB: { caller: Math.round(peak.caller / 1024), broker: Math.round(peak.broker / 1024), worker: Math.round(peak.worker / 1024) },
    problems,
  };
}

const report = { seed: Number(args.seed), workers, node: process.version };
if (throughputSeconds > 0) {
  const clean = await throughput(false);
  const faulty = await throughput(true);
  report.throughput = { clean, faulty, ratio: +(clean.tasksPerSecond / faulty.tasksPerSecond).toFixed(2) };
  console.error(`throughput: ${faulty.tasksPerSecond}/s with a worker killed every second, ${clean.tasksPerSecond}/s without (clean/faulty ${report.throughput.ratio})`);
}
if (minutes > 0) {
  report.chaos = await chaos();
  console.error(`chaos: ${report.chaos.rounds} rounds, ${report.chaos.tasks} tasks in ${report.chaos.minutes} min, faults ${JSON.stringify(report.chaos.faults)}, problems: ${report.chaos.problems.length}`);
}
console.log(JSON.stringify(report, null, 2));
const bad = (report.chaos?.problems.length ?? 0) > 0 || (report.throughput && (report.throughput.clean.duplicated || report.throughput.faulty.duplicated));
if (bad) process.exitCode = 1;
