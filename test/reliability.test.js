// Fault injection with real processes: every test asserts the exact multiset of results.
import { existsSync, readFileSync } from "node:fs";
import t from "tap";
import { CancelledError, TimeoutError, WorkerExitError } from "../dist/index.js";
import { alive, createLb, exactlyOnce, lineCount, range, tmpPath, waitFor } from "./helpers.js";

t.test(".map() - SIGKILL of workers during a 20,000-task map loses and doubles nothing", async (t) => {
  const lb = createLb(t, { workers: 2 });
  await lb.ready;
  const killAt = new Set([2000, 6000, 10000, 14000]);
  const results = [];
  for await (const r of lb.map(range(20000), { ordered: false })) {
    results.push(r);
    if (killAt.has(results.length)) {
      const [victim] = lb.pids.workers;
      if (victim) process.kill(victim, "SIGKILL");
    }
  }
  exactlyOnce(t, results, range(20000, (i) => i * 2));
  // A restart is counted when Node reports the exit, which may come after the last result.
  await waitFor(() => lb.stats().workerRestarts >= 1, { what: "the killed workers' restarts to be counted" });
  t.pass("killed workers were restarted");
});

t.test(".map() - a SIGSTOPped worker is taken over; after SIGCONT its late results are dropped", async (t) => {
  const lb = createLb(t, { workers: 2, heartbeatInterval: 100, heartbeatLiveness: 3 });
  await lb.ready;
  const items = range(600, (i) => ({ op: "sleep", ms: 3, value: i }));
  const results = [];
  let stopped;
  let resumed = false;
  for await (const r of lb.map(items, { ordered: false })) {
    results.push(r);
    if (results.length === 50) {
      stopped = lb.pids.workers[0];
      process.kill(stopped, "SIGSTOP");
    }
    // The stopped worker held tasks, so the map goes on only once they were taken over.
    if (stopped && !resumed && lb.stats().retried > 0) {
      resumed = true;
      process.kill(stopped, "SIGCONT");
    }
  }
  if (!resumed) process.kill(stopped, "SIGCONT");
  t.ok(resumed, "the stopped worker's tasks were retried elsewhere while it was stopped");
  exactlyOnce(t, results, range(600));
  t.equal(lb.stats().failed, 0);
});

t.test(".map() - a task that kills its worker fails with WorkerExitError after maxAttempts; the rest complete", async (t) => {
  const lb = createLb(t, { workers: 2, maxAttempts: 3 });
  await lb.ready;
  const items = range(200, (i) => (i === 50 ? { op: "exit", code: 7 } : i));
  const rows = [];
  for await (const row of lb.map(items, { settled: true })) rows.push(row);
  t.equal(rows.length, 200);
  const failed = rows.filter((r) => !r.ok);
  t.equal(failed.length, 1, "only the poison task failed");
  t.equal(failed[0].index, 50);
  t.ok(failed[0].error instanceof WorkerExitError);
  t.equal(failed[0].error.code, "ERR_ZEROLB_WORKER_EXIT");
  t.match(failed[0].error.message, /3 times/, "names the attempts");
  t.match(failed[0].error.message, /exit code 7/, "names the last exit code");
  t.same(rows.filter((r) => r.ok).map((r) => r.value), range(200, (i) => i * 2).filter((_, i) => i !== 50));
  await waitFor(() => lb.stats().workerRestarts >= 3, { what: "the three restarts to be counted" }); // as Node reports each exit
  t.pass("each worker the poison task killed was restarted");
});

t.test(".map() - a handler whose promise never settles fails with TimeoutError and the pool goes on", async (t) => {
  const lb = createLb(t, { workers: 1 });
  await lb.ready;
  const rows = [];
  for await (const row of lb.map([{ op: "hang" }, 1, 2], { settled: true, timeout: 200 })) rows.push(row);
  t.notOk(rows[0].ok);
  t.ok(rows[0].error instanceof TimeoutError);
  t.equal(rows[0].error.code, "ERR_ZEROLB_TIMEOUT");
  t.same(rows.slice(1).map((r) => r.value), [2, 4]);
  t.equal(lb.stats().timedOut, 1);
});

t.test(".map() - a handler stuck in a synchronous loop times out; its worker is killed and replaced", async (t) => {
  const lb = createLb(t, { workers: 1, timeoutGrace: 300 });
  await lb.ready;
  const [stuckPid] = lb.pids.workers;
  const rows = [];
  for await (const row of lb.map([{ op: "busy", ms: 120_000 }, 1, 2], { settled: true, timeout: 300 })) rows.push(row);
  t.ok(rows[0].error instanceof TimeoutError, "the stuck task fails with a TimeoutError");
  t.same(rows.slice(1).map((r) => r.value), [2, 4], "later tasks run on the replacement");
  await waitFor(() => !alive(stuckPid), { timeout: 30_000, what: "the stuck worker to be killed" });
  await waitFor(() => lb.stats().workerRestarts >= 1, { what: "its restart to be counted" });
  t.pass("the stuck worker was replaced");
});

t.test(".map() - a long synchronous handler (3 s of busy CPU) is not declared dead", async (t) => {
  const lb = createLb(t, { workers: 1 }); // default heartbeat: 1000 ms x liveness 3
  await lb.ready;
  const [pid] = lb.pids.workers;
  const rows = [];
  for await (const r of lb.map([{ op: "busy", ms: 3500, value: "done" }])) rows.push(r);
  t.same(rows, ["done"]);
  const s = lb.stats();
  t.equal(s.retried, 0, "never retried");
  t.equal(s.workerRestarts, 0);
  t.ok(alive(pid), "the same worker is alive");
});

t.test(".send() - aborting a running task aborts its ctx.signal", async (t) => {
  const abortLog = tmpPath(t, "aborts");
  const lb = createLb(t, { workers: 1, concurrency: 2, workerData: { abortLog } });
  await lb.ready;
  const controller = new AbortController();
  const id = await lb.send({ op: "signal" }, { signal: controller.signal, id: "watched" });
  // Make sure it is running: a second task on the same worker finishes after it started.
  await lb.send(1);
  const first = await lb.receive();
  t.same(first, { id: first.id, ok: true, value: 2 });
  controller.abort();
  const cancelled = await lb.receive();
  t.equal(cancelled.id, id);
  t.notOk(cancelled.ok);
  t.ok(cancelled.error instanceof CancelledError);
  await waitFor(() => existsSync(abortLog), { timeout: 30_000, what: "the handler to see the abort" });
  t.match(readFileSync(abortLog, "utf8"), /^watched CancelledError/);
});

t.test(".send() - a task id that already completed is not run again and yields no second result", async (t) => {
  const log = tmpPath(t, "runs");
  const lb = createLb(t, { workers: 1, workerData: { log } });
  await lb.ready;
  t.equal(await lb.send(21, { id: "once" }), "once");
  t.same(await lb.receive(), { id: "once", ok: true, value: 42 });
  t.equal(await lb.send(21, { id: "once" }), "once", "the repeated send returns the id");
  await lb.send(5, { id: "next" });
  t.same(await lb.receive(), { id: "next", ok: true, value: 10 }, "the next result is the new task's");
  t.equal(lineCount(log), 2, "the repeated id did not run");
});

t.test(".close({ force: true }) - unfinished tasks are reported as failed, never dropped", async (t) => {
  const lb = createLb(t, { workers: 1 });
  await lb.ready;
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push(await lb.send({ op: "sleep", ms: 10_000 }));
  await lb.close({ force: true });
  const got = [];
  for (let i = 0; i < 3; i++) got.push(await lb.receive());
  t.same(got.map((r) => r.id).sort(), ids.sort());
  for (const r of got) {
    t.notOk(r.ok);
    t.ok(r.error instanceof CancelledError, r.error?.message);
  }
});

t.test(".close() - waits for tasks in flight to finish", async (t) => {
  const lb = createLb(t, { workers: 1 });
  await lb.ready;
  await lb.send({ op: "sleep", ms: 300, value: "finished" });
  await lb.close();
  t.same(await lb.receive(), { id: "0", ok: true, value: "finished" });
});
