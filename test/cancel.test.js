// Cancelling a map: an AbortSignal, or breaking out of `for await`. Executions are counted with the
// ops.js fixture's log (one line per task run), read after close() so the count is final.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import t from "tap";
import { CancelledError } from "../dist/index.js";
import { breakWhileSignalTaskRuns, collect, createLb, lineCount, range, tmpPath, waitFor } from "./helpers.js";

const sleep = (ms, value = ms) => ({ op: "sleep", ms, value });

/**
 * Items for a map whose first `quick` items finish at once and whose other items are "signal"
 * tasks, which end only when their ctx.signal is aborted. With concurrency 1, a worker runs at
 * most one of those at a time, so whatever the machine's speed, when the consumer has seen the
 * quick results exactly `quick + one per worker` tasks may have started; every other task is
 * queued (at the broker, or prefetched by a worker) and must never run once cancelled.
 */
const quickThenBlocking = (quick, n) => range(n, (i) => (i < quick ? sleep(1, i) : { op: "signal" }));

t.test(".map() - signal: aborting mid-map ends the iterator with the signal's reason and queued tasks never run", async (t) => {
  const log = tmpPath(t);
  const workers = 2;
  const lb = createLb(t, { workers, workerData: { log } });
  await lb.ready;
  const n = 200;
  const controller = new AbortController();
  const reason = new Error("enough of this");
  let pulled = 0;
  function* items() {
    for (const item of quickThenBlocking(5, n)) {
      pulled++;
      yield item;
    }
  }
  const seen = [];
  let pulledAtAbort;
  let caught;
  try {
    for await (const v of lb.map(items(), { signal: controller.signal })) {
      seen.push(v);
      if (seen.length === 5) {
        controller.abort(reason);
        pulledAtAbort = pulled;
      }
    }
  } catch (err) {
    caught = err;
  }
  t.equal(caught, reason, "the iterator throws the signal's reason itself");
  t.same(seen, [0, 1, 2, 3, 4], "nothing is yielded after the abort");
  t.equal(pulled, pulledAtAbort, `it stopped pulling items at the abort (${pulled} of ${n})`);
  t.ok(lb.stats().cancelled > 0, "the tasks left were cancelled");
  await lb.close();
  const runs = lineCount(log);
  t.ok(runs >= seen.length, `the tasks yielded ran (${runs} runs)`);
  t.ok(runs <= seen.length + workers, `${runs} of ${n} tasks ran: the quick ones and at most one running per worker; the queued ones never did`);
});

t.test(".map() - signal: an already aborted signal fails the first next() and runs nothing", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { workers: 1, workerData: { log } });
  await lb.ready;
  const reason = new Error("aborted before the start");
  const it = lb.map(range(10), { signal: AbortSignal.abort(reason) });
  await t.rejects(it.next(), reason);
  t.same(await collect(lb.map([1])), [2], "the LoadBalancer goes on");
  await lb.close();
  t.equal(lineCount(log), 1, "only the later task ran");
});

t.test(".map() - break out of for await cancels queued tasks", async (t) => {
  const log = tmpPath(t);
  const workers = 2;
  const lb = createLb(t, { workers, highWaterMark: 20, workerData: { log } });
  await lb.ready;
  const n = 200;
  let pulled = 0;
  function* items() {
    for (const item of quickThenBlocking(5, n)) {
      pulled++;
      yield item;
    }
  }
  const seen = [];
  for await (const v of lb.map(items())) {
    seen.push(v);
    if (seen.length === 5) break;
  }
  t.same(seen, [0, 1, 2, 3, 4]);
  t.ok(pulled <= 5 + 20, `pulled ${pulled} items, within the window`);
  // The window is free: another map on the same LoadBalancer runs to the end.
  t.same(await collect(lb.map(range(30))), range(30, (i) => i * 2), "a later map gets its own results only");
  await lb.close();
  const runs = readFileSync(log, "utf8").split("\n").filter((line) => /"(sleep|signal)"/.test(line)).length;
  t.ok(runs >= seen.length, `the tasks yielded ran (${runs} runs)`);
  // Without cancellation every pulled task would run (the map's own, not the later map's).
  t.ok(runs <= seen.length + workers, `${runs} of ${pulled} pulled tasks ran: the quick ones and at most one running per worker; the queued ones were cancelled`);
});

t.test(".map() - break aborts ctx.signal of a task that is running", async (t) => {
  const abortLog = tmpPath(t);
  const lb = createLb(t, { workers: 1, concurrency: 2, workerData: { abortLog } });
  await lb.ready;
  // The "signal" task only ends when its ctx.signal is aborted (it then writes to abortLog).
  await breakWhileSignalTaskRuns(t, lb);
  await waitFor(() => lineCount(abortLog) > 0, { timeout: 30_000, what: "the running task's signal to be aborted" }).catch((err) => t.fail(err.message));
  t.match(existsSync(abortLog) ? readFileSync(abortLog, "utf8") : "", /CancelledError/, "aborted with a CancelledError as reason");
  t.same(await collect(lb.map([{ op: "sleep", ms: 1, value: "free" }, { op: "sleep", ms: 1, value: "again" }])), ["free", "again"], "the worker's slot is free again");
});

t.test(".send() - signal: aborting withdraws the task; receive() reports it cancelled", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { workers: 1, workerData: { log } });
  await lb.ready;
  // Keep the only worker busy (until the gate opens) so the second task is still queued when it is aborted.
  const gate = tmpPath(t, "gate");
  const controller = new AbortController();
  const busy = await lb.send({ op: "until", path: gate, value: "first" });
  const queued = await lb.send({ op: "sleep", ms: 1, value: "never" }, { signal: controller.signal });
  controller.abort(new Error("changed my mind"));
  const cancelled = await lb.receive();
  t.equal(cancelled.id, queued, "the aborted task is reported at once, while the first still runs");
  writeFileSync(gate, "");
  const results = [cancelled, await lb.receive()];
  const byId = new Map(results.map((r) => [r.id, r]));
  t.equal(byId.get(busy).ok, true);
  t.equal(byId.get(busy).value, "first");
  t.equal(byId.get(queued).ok, false);
  t.ok(byId.get(queued).error instanceof CancelledError, "a CancelledError");
  t.equal(byId.get(queued).error.code, "ERR_ZEROLB_CANCELLED");
  await lb.close();
  t.notMatch(readFileSync(log, "utf8"), /never/, "the withdrawn task did not run");
});
