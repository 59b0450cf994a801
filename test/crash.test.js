// Workers that die: their tasks run elsewhere, the caller sees each result once, dead workers are
// replaced, and a task that keeps killing its worker fails instead of looping.
import t from "tap";
import { WorkerExitError } from "../dist/index.js";
import { collect, createLb, range, waitFor, workersAnswering } from "./helpers.js";

t.test(".map() - a worker killed with SIGKILL mid-map does not hang the caller", async (t) => {
  const lb = createLb(t, { workers: 2 });
  const [victim] = await workersAnswering(lb, 2);
  const n = 100;
  const seen = [];
  for await (const v of lb.map(range(n, (i) => ({ op: "sleep", ms: 20, value: i })))) {
    seen.push(v);
    if (seen.length === 10) process.kill(victim, "SIGKILL");
  }
  t.same(seen, range(n), "every result, once, in order");
  const stats = lb.stats();
  t.ok(stats.retried >= 1, `the victim's tasks were run again (retried ${stats.retried})`);
  t.equal(stats.failed, 0, "no task failed");
  await waitFor(() => lb.stats().workerRestarts >= 1, { what: "the killed worker to be restarted" });
  t.ok(lb.stats().workerRestarts >= 1, "workerRestarts counts the replacement");
  await waitFor(() => lb.pids.workers.length === 2 && !lb.pids.workers.includes(victim), { what: "a replacement worker" });
  t.same(await collect(lb.map(range(20))), range(20, (i) => i * 2), "the pool works after the restart");
});

t.test(".map() - a task that kills its worker maxAttempts times fails with a WorkerExitError; the rest goes on", async (t) => {
  const lb = createLb(t, { workers: 2, maxAttempts: 2 });
  await lb.ready;
  const rows = await collect(lb.map([1, { op: "exit", code: 7 }, 3, 4, 5], { settled: true }));
  t.same(rows.map((r) => r.ok), [true, false, true, true, true]);
  t.same(rows.filter((r) => r.ok).map((r) => r.value), [2, 6, 8, 10]);
  const err = rows[1].error;
  t.ok(err instanceof WorkerExitError, "a WorkerExitError");
  t.equal(err.code, "ERR_ZEROLB_WORKER_EXIT");
  t.equal(err.index, 1);
  t.match(err.message, /2 times/, "the message names the attempts");
  t.match(err.message, /exit code 7/, `the message names the last exit code (${err.message})`);
  await waitFor(() => lb.stats().workerRestarts >= 2, { what: "both deaths to be restarted" });
});

t.test("ctx.attempt - a task whose worker died holding it runs again with the next attempt number", async (t) => {
  const lb = createLb(t, { workers: 2, maxAttempts: 3 });
  await lb.ready;
  // The task kills its worker on attempts 1 and 2, and answers on attempt 3.
  const [result] = await collect(lb.map([{ op: "exitBelow", attempt: 3, value: "third time" }]));
  t.same(result, { attempt: 3, value: "third time" }, "ctx.attempt was 3 on the run that answered");
  t.ok(lb.stats().retried >= 2, `retried counts the runs repeated after a death (${lb.stats().retried})`);
  await waitFor(() => lb.stats().workerRestarts >= 2, { what: "both dead workers to be restarted" });
});
