// lb.close() and Symbol.asyncDispose: cleanup, idempotence, what later calls get, in-flight tasks.
import { readFileSync } from "node:fs";
import t from "tap";
import { CancelledError, ClosedError, LoadBalancer, ZerolbError } from "../dist/index.js";
import { alive, breakWhileSignalTaskRuns, collect, createLb, fixture, ipcDirsLeft, lineCount, tmpPath, waitFor, within, workersAnswering } from "./helpers.js";

t.test(".close() - is idempotent: two calls, one promise", async (t) => {
  const lb = createLb(t);
  await lb.ready;
  const first = lb.close();
  const second = lb.close();
  t.equal(second, first, "the same promise");
  t.equal(lb.close({ force: true }), first, "force on a later call changes nothing");
  await first;
  t.same(ipcDirsLeft(), []);
});

t.test(".close() - later calls reject with a ClosedError", async (t) => {
  const lb = createLb(t);
  await lb.ready;
  await lb.close();
  const isClosed = { name: "ClosedError", code: "ERR_ZEROLB_CLOSED" };
  await t.rejects(lb.send(1), isClosed, "send()");
  await t.rejects(lb.map([1]).next(), isClosed, "map()");
  await t.rejects(lb.receive(), isClosed, "receive()");
  const err = await lb.send(1).catch((e) => e);
  t.ok(err instanceof ClosedError, "instanceof ClosedError");
  t.match(err.message, /closed/);
});

t.test(".close() - before ready: still stops everything", async (t) => {
  const lb = new LoadBalancer({ worker: fixture("ops.js"), workers: 2 });
  const { broker, workers } = lb.pids;
  await lb.close();
  for (const pid of [broker, ...workers]) t.notOk(alive(pid), `process ${pid} gone`);
  t.same(ipcDirsLeft(), []);
  await t.rejects(lb.send(1), { code: "ERR_ZEROLB_CLOSED" });
});

t.test(".close() - lets tasks in flight finish", async (t) => {
  const lb = createLb(t, { workers: 1 });
  await lb.ready;
  const id = await lb.send({ op: "sleep", ms: 300, value: "finished" });
  await lb.close();
  t.same(await lb.receive(), { id, ok: true, value: "finished" }, "the task sent before close() completed");
});

t.test(".close() - waits at most closeTimeout for tasks in flight, then fails them with a CancelledError", async (t) => {
  const lb = createLb(t, { workers: 1, closeTimeout: 500 });
  await lb.ready;
  const id = await lb.send({ op: "hang" });
  const start = Date.now();
  // The bound is the point: with the default closeTimeout (30 s) close() would still be waiting.
  // It allows for the 500 ms, and for stopping a worker that will not let go of its task (5 s).
  await within(lb.close(), 25_000, "close() with a task that never ends");
  t.ok(Date.now() - start >= 500, `it waited for the task first (${Date.now() - start} ms)`);
  const r = await lb.receive();
  t.equal(r.id, id);
  t.equal(r.ok, false, "the task did not finish");
  t.ok(r.error instanceof CancelledError, "it is reported as a CancelledError");
  t.match(r.error.message, /did not finish before close\(\)/);
});

t.test(".close() - runs teardown() in every worker", async (t) => {
  const teardownLog = tmpPath(t);
  const lb = createLb(t, { workers: 2, workerData: { teardownLog } });
  const pids = await workersAnswering(lb, 2);
  await lb.close();
  // ops.js's teardown() appends its worker's pid: one line from each of the two workers.
  const lines = readFileSync(teardownLog, "utf8").split("\n").filter(Boolean).map(Number);
  t.same(lines.sort(), [...pids].sort(), "teardown() ran once in each worker that answered");
});

t.test(".close() - force: tasks in flight fail with a CancelledError at once", async (t) => {
  const lb = createLb(t, { workers: 1, concurrency: 2 });
  await lb.ready;
  const id = await lb.send({ op: "hang" });
  const it = lb.map([{ op: "hang" }]);
  const pending = it.next().then(() => undefined, (e) => e);
  await waitFor(() => lb.stats().submitted === 2, { what: "the map's task to be submitted" });
  await lb.close({ force: true });
  const r = await lb.receive();
  t.equal(r.id, id);
  t.equal(r.ok, false);
  t.ok(r.error instanceof CancelledError, "the sent task: a CancelledError");
  t.match(r.error.message, /close/);
  const err = await within(pending, 30_000, "the map's next()");
  t.ok(err instanceof CancelledError, "the map's pending next() rejects with a CancelledError");
  t.match(err?.message, /close/, "naming close()");
});

t.test(".close() - a map whose first next() was called just before close() ends too", async (t) => {
  const lb = createLb(t, { workers: 1 });
  await lb.ready;
  const pending = lb.map([{ op: "hang" }]).next().then(() => undefined, (e) => e);
  await lb.close({ force: true });
  const err = await within(pending, 30_000, "that next()").catch((e) => e);
  t.ok(err instanceof ZerolbError, `next() rejects with a zerolb error (got ${err?.message})`);
  t.match(err?.message, /close/, "naming close()");
});

t.test(".close() - right after a break, a dropped running task is cancelled, so the worker drains and runs teardown()", async (t) => {
  const teardownLog = tmpPath(t);
  const lb = createLb(t, { workers: 1, concurrency: 2, workerData: { teardownLog } });
  await lb.ready;
  // The "signal" task ends only when its ctx.signal is aborted: here, by the break.
  await breakWhileSignalTaskRuns(t, lb);
  // close() at once: the cancel of the dropped task must not be lost on the way out, or the
  // worker waits on that task until it is killed, skipping teardown().
  await lb.close();
  t.equal(lineCount(teardownLog), 1, "the worker stopped gracefully and ran teardown()");
});

t.test(".close() - leaves no child process and no ipc file after work and a crash", async (t) => {
  const lb = new LoadBalancer({ worker: fixture("ops.js"), workers: 2 });
  await lb.ready;
  const seen = new Set([lb.pids.broker, ...lb.pids.workers]);
  t.same(await collect(lb.map([{ op: "exit" }, 1], { settled: true, ordered: true })).then((rows) => rows[1].value), 2);
  for (const pid of lb.pids.workers) seen.add(pid);
  await lb.close();
  for (const pid of seen) t.notOk(alive(pid), `process ${pid} gone`);
  t.same(ipcDirsLeft(), []);
});

t.test("[Symbol.asyncDispose]() - closes the LoadBalancer", async (t) => {
  const lb = new LoadBalancer({ worker: fixture("ops.js"), workers: 1 });
  await lb.ready;
  const { broker, workers } = lb.pids;
  t.type(lb[Symbol.asyncDispose], "function");
  await lb[Symbol.asyncDispose]();
  for (const pid of [broker, ...workers]) t.notOk(alive(pid), `process ${pid} gone`);
  t.same(ipcDirsLeft(), []);
  await t.rejects(lb.send(1), { code: "ERR_ZEROLB_CLOSED" });
  t.equal(lb[Symbol.asyncDispose](), lb.close(), "the same promise as close()");
});

// `await using` is syntax from Node 24 (V8 13.6); on older Nodes the call above is what it does.
const AsyncFunction = (async () => {}).constructor;
let awaitUsingSupported = true;
try {
  new AsyncFunction("await using x = null;");
} catch {
  awaitUsingSupported = false;
}
if (awaitUsingSupported) {
  t.test("await using - closes the LoadBalancer at the end of the block", async (t) => {
    const run = new AsyncFunction("LoadBalancer", "options", `
      let pids;
      {
        await using lb = new LoadBalancer(options);
        await lb.ready;
        pids = [lb.pids.broker, ...lb.pids.workers];
      }
      return pids;`);
    const pids = await run(LoadBalancer, { worker: fixture("ops.js"), workers: 1 });
    for (const pid of pids) t.notOk(alive(pid), `process ${pid} gone`);
    t.same(ipcDirsLeft(), []);
  });
}
