// Timeouts (README options and send/map options, docs/semantics.md): the LoadBalancer's `timeout`
// is the default of every task, a per-call one overrides it, ctx.signal is aborted with the
// TimeoutError, and a worker stuck past a timeout is replaced without charging its other tasks.
import { existsSync, readFileSync } from "node:fs";
import t from "tap";
import { TimeoutError } from "../dist/index.js";
import { alive, collect, createLb, lineCount, tmpPath, waitFor, within } from "./helpers.js";

t.test("timeout - the LoadBalancer's timeout applies to map() and send(); a per-call timeout overrides it", async (t) => {
  const lb = createLb(t, { workers: 1, concurrency: 2, timeout: 300 });
  await lb.ready;
  const rows = await collect(lb.map([{ op: "hang" }, 1], { settled: true }));
  t.ok(rows[0].error instanceof TimeoutError, "a map task that never ends fails with a TimeoutError");
  t.equal(rows[0].error.code, "ERR_ZEROLB_TIMEOUT");
  t.match(rows[0].error.message, /timed out after 300 ms/);
  t.same(rows[1], { index: 1, id: rows[1].id, ok: true, value: 2 });
  const id = await lb.send({ op: "hang" });
  const r = await within(lb.receive(), 60_000, "the hung send() task's outcome");
  t.equal(r.id, id);
  t.ok(r.error instanceof TimeoutError, "so does a sent one");
  // 600 ms is past the LoadBalancer's 300 ms, not past the call's own timeout.
  const slow = { op: "sleep", ms: 600, value: "slow" };
  t.same(await collect(lb.map([slow], { timeout: 60_000 })), ["slow"], "map({ timeout }) overrides it");
  const slowId = await lb.send(slow, { timeout: 60_000 });
  t.same(await within(lb.receive(), 60_000, "the slow send() task's outcome"), { id: slowId, ok: true, value: "slow" }, "send({ timeout }) too");
  t.equal(lb.stats().timedOut, 2, "stats() counts the two timeouts");
});

t.test("timeout - ctx.signal is aborted with the TimeoutError", async (t) => {
  const abortLog = tmpPath(t, "aborts");
  const lb = createLb(t, { workers: 1, workerData: { abortLog } });
  await lb.ready;
  const id = await lb.send({ op: "signal" }, { timeout: 200, id: "timed" });
  const r = await within(lb.receive(), 60_000, "the task's outcome");
  t.equal(r.id, id);
  t.ok(r.error instanceof TimeoutError);
  // The "signal" task writes `<ctx.id> <name of ctx.signal.reason>` when its signal is aborted.
  await waitFor(() => existsSync(abortLog), { what: "the handler to see the abort" });
  t.match(readFileSync(abortLog, "utf8"), /^timed TimeoutError$/m);
});

t.test("timeout - a worker stuck past a task's timeout is replaced; the tasks it held run again without a death counted", async (t) => {
  const lb = createLb(t, { workers: 1, timeoutGrace: 300 });
  await lb.ready;
  const [stuck] = lb.pids.workers;
  // One Submit: the worker takes both (its first credit is its concurrency + 1), and runs the first,
  // a synchronous loop of two minutes that its own timer cannot interrupt.
  const [busy, info] = await Promise.all([lb.send({ op: "busy", ms: 120_000 }, { timeout: 300 }), lb.send({ op: "info" })]);
  const got = new Map();
  for (let i = 0; i < 2; i++) {
    const r = await within(lb.receive(), 60_000, "an outcome");
    got.set(r.id, r);
  }
  t.ok(got.get(busy).error instanceof TimeoutError, "the stuck task fails with a TimeoutError");
  t.match(got.get(busy).error.message, /its worker was stuck and has been replaced/);
  t.equal(got.get(info).ok, true, "the other task succeeds");
  t.not(got.get(info).value.pid, stuck, "on the replacement worker");
  t.equal(got.get(info).value.attempt, 1, "the stuck worker held it and it ran again elsewhere as its first attempt: no death was counted against it");
  t.equal(lb.stats().retried, 0, "so `retried` (runs repeated after a death) did not count it");
  await waitFor(() => !alive(stuck), { what: "the stuck worker to be killed" });
  t.pass("the stuck worker was killed");
});

t.test(
  "timeout - counts from the task's start: a task waiting behind a long one does not time out",
  async (t) => {
    const log = tmpPath(t, "runs");
    const lb = createLb(t, { workers: 1, timeoutGrace: 300, workerData: { log } });
    await lb.ready;
    // One Submit: the worker holds both; the second waits 2 s for the first, then runs for 10 ms.
    const [long, short] = await Promise.all([lb.send({ op: "busy", ms: 2000, value: "long" }), lb.send({ op: "sleep", ms: 10, value: "short" }, { timeout: 500 })]);
    const got = new Map();
    for (let i = 0; i < 2; i++) {
      const r = await within(lb.receive(), 60_000, "an outcome");
      got.set(r.id, r);
    }
    t.same(got.get(long), { id: long, ok: true, value: "long" });
    t.same(got.get(short), { id: short, ok: true, value: "short" }, "the short task ran 10 ms of its 500");
    t.equal(lineCount(log), 2, "each ran once");
    t.equal(lb.stats().workerRestarts, 0, "no worker was taken for stuck");
  },
);
