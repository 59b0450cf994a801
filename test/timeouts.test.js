// Timeouts count from a task's start, not from its dispatch: a task waiting behind a long one is
// neither failed nor blamed, and a worker is replaced only for a timed task it announced as started.
import t from "tap";
import { TimeoutError } from "../dist/index.js";
import { createLb, within } from "./helpers.js";

t.test("timed tasks prefetched behind a long untimed synchronous task run when it ends: no TimeoutError, no kill", async (t) => {
  const lb = createLb(t, { workers: 1, timeoutGrace: 300 });
  await lb.ready;
  const [pid] = lb.pids.workers;
  const long = await lb.send({ op: "busy", ms: 2500, value: "long" });
  const short = [];
  for (let i = 0; i < 3; i++) short.push(await lb.send({ op: "sleep", ms: 10, value: i }, { timeout: 400 }));
  const got = new Map();
  for (let i = 0; i < 4; i++) {
    const r = await within(lb.receive(), 30_000, `receive ${i}`);
    got.set(r.id, r);
  }
  t.same(got.get(long), { id: long, ok: true, value: "long" }, "the long task finished");
  for (const [i, id] of short.entries()) t.same(got.get(id), { id, ok: true, value: i }, `short task ${i} succeeded`);
  t.equal(lb.stats().timedOut, 0, "nothing timed out");
  t.equal(lb.stats().workerRestarts, 0, "the worker was not taken for stuck");
  t.same(lb.pids.workers, [pid]);
});

t.test("a timed task stuck in synchronous code fails with TimeoutError and its worker is replaced", async (t) => {
  const lb = createLb(t, { workers: 1, timeoutGrace: 300 });
  await lb.ready;
  const [pid] = lb.pids.workers;
  const stuck = await lb.send({ op: "busy", ms: 60_000 }, { timeout: 300 });
  const after = await lb.send(21);
  const first = await within(lb.receive(), 30_000, "the stuck task's outcome");
  t.equal(first.id, stuck);
  t.ok(first.error instanceof TimeoutError, "a TimeoutError");
  const second = await within(lb.receive(), 30_000, "the next task");
  t.same(second, { id: after, ok: true, value: 42 }, "the task behind it ran on the replacement");
  t.not(lb.pids.workers[0], pid, "the stuck worker was replaced");
});
