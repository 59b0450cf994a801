// The broker's scheduler, driven directly: no processes, sockets or clocks.
import t from "tap";
import { Scheduler } from "../dist/broker/scheduler.js";

const task = (seq, extra = {}) => ({
  seq, id: "", fn: "", timeout: 0, deaths: 0, payload: new Uint8Array([seq & 0xff]), payloadStart: 0, payloadEnd: 1, worker: undefined, withdrawn: false,
  lastExit: "", dispatchedAt: 0, dispatchOrder: 0, startedAt: 0, cancelledAt: 0, waitingOn: 0, dependents: undefined, item: undefined, job: -1,
  failures: 0, retryAt: 0, controls: { retries: 0, retryDelay: 100, priority: 0, batchSize: 1, batchWait: 2 },
  hedgeGroup: 0, hedgeTwin: undefined, hedgeLoser: false,
  ...extra,
});

/** A scheduler with workers (key → credit) and tasks 0..n-1 submitted. */
function setup({ workers = {}, tasks = 0, maxAttempts = 3 } = {}) {
  const s = new Scheduler({ maxAttempts });
  for (const [key, credit] of Object.entries(workers)) {
    s.addWorker(key);
    s.grant(key, credit);
  }
  for (let i = 0; i < tasks; i++) s.submit(task(i));
  return s;
}

/** dispatch() as { workerKey: [seqs] }. */
const plan = (dispatches) => Object.fromEntries(dispatches.map((d) => [d.worker.key, d.tasks.map((x) => x.seq)]));

t.test("Scheduler.dispatch() - spreads a batch across workers with credit", async (t) => {
  const s = setup({ workers: { a: 5, b: 5 }, tasks: 6 });
  const p = plan(s.dispatch());
  t.same(Object.keys(p).sort(), ["a", "b"], "both workers get tasks");
  t.equal(p.a.length, 3);
  t.equal(p.b.length, 3);
  t.same([...p.a, ...p.b].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5], "each task once");
  for (const seqs of Object.values(p)) t.same(seqs, [...seqs].sort((x, y) => x - y), "queue order kept within a batch");
  t.equal(s.queued, 0);
  t.equal(s.inFlight, 6);
  t.equal(s.worker("a").credit, 2);
  t.equal(s.worker("b").credit, 2);
  t.same(s.dispatch(), [], "nothing left to hand out");
});

t.test("Scheduler.dispatch() - never hands a worker more than its credit, nor more than its fair part", async (t) => {
  const s = setup({ workers: { a: 1, b: 10, c: 0 }, tasks: 20 });
  const p = plan(s.dispatch());
  t.equal(p.a.length, 1, "a: its credit");
  t.equal(p.b.length, 7, "b: its fair part, a third of 20 (credit granted for quick tasks must not hoard)");
  t.notOk("c" in p, "a worker with no credit gets nothing");
  t.equal(s.queued, 12, "the rest waits at the broker, for whichever worker frees up");
  s.grant("c", 4);
  t.same(plan(s.dispatch()), { c: [8, 9, 10, 11] }, "credit granted later takes the head of the queue");
  t.equal(s.queued, 8);
});

t.test("Scheduler.dispatch() - a worker with large credit does not take a slow batch from an idle one", async (t) => {
  const s = setup({ workers: { big: 1000, small: 2 }, tasks: 400 });
  const p = plan(s.dispatch());
  t.equal(p.big.length, 200, "half, not all it has credit for");
  t.equal(p.small.length, 2);
  // small finishes its two and asks for two more: the rest is still at the broker for it.
  for (const seq of p.small) s.result("small", seq);
  s.grant("small", 2);
  t.equal(plan(s.dispatch()).small.length, 2);
});

t.test("Scheduler.dispatch() - with no worker, tasks wait; the first worker to come gets them", async (t) => {
  const s = setup({ tasks: 3 });
  t.same(s.dispatch(), []);
  t.equal(s.queued, 3);
  s.addWorker("late");
  t.same(s.dispatch(), [], "a worker with no credit yet gets nothing");
  s.grant("late", 2);
  t.same(plan(s.dispatch()), { late: [0, 1] });
});

t.test("Scheduler - no worker idles while tasks wait (random events)", async (t) => {
  // A small deterministic PRNG so a failure can be replayed.
  let state = 12345;
  const random = (n) => ((state = (state * 1103515245 + 12345) % 2 ** 31) % n);
  const s = setup({ workers: { a: 2, b: 3, c: 1 } });
  let next = 0;
  let violations = 0;
  for (let step = 0; step < 2000; step++) {
    const event = random(3);
    if (event === 0) for (let k = random(5); k >= 0; k--) s.submit(task(next++));
    else if (event === 1) {
      // Some worker finishes one of its tasks and gets its credit back.
      const busy = [...s.workers].filter((w) => w.inFlight.size > 0);
      if (busy.length > 0) {
        const w = busy[random(busy.length)];
        const seq = [...w.inFlight.keys()][0];
        if (typeof s.result(w.key, seq) !== "object") violations++;
        s.grant(w.key, 1);
      }
    } else s.grant(["a", "b", "c"][random(3)], random(2));
    s.dispatch();
    const idleWithCredit = [...s.workers].filter((w) => w.credit > 0 && !w.isolated && w.inFlight.size === 0);
    if (s.queued > 0 && idleWithCredit.length > 0) {
      violations++;
      t.fail(`step ${step}: ${s.queued} queued while ${idleWithCredit.map((w) => w.key)} had credit and nothing to do`);
      break;
    }
  }
  t.equal(violations, 0, "after every dispatch, the queue is empty or no worker with credit is idle");
  t.ok(next > 500, "the run submitted many tasks");
});

t.test("Scheduler.removeWorker() - requeues in-flight tasks at the front, in order, not alone after a first death", async (t) => {
  const s = setup({ workers: { a: 2 }, tasks: 5 });
  t.same(plan(s.dispatch()), { a: [0, 1] });
  t.same(s.removeWorker("a", "worker 1 exited (exit code 3)"), [], "nothing failed on a first death");
  t.equal(s.queued, 5, "0 and 1 are queued again");
  t.equal(s.inFlight, 0);
  t.equal(s.retried, 2);
  s.addWorker("b");
  s.grant("b", 10);
  // With maxAttempts 3 a first death makes no suspect: a worker killed from outside costs nothing more.
  t.same(plan(s.dispatch()), { b: [0, 1, 2, 3, 4] }, "survivors first, with the rest, in order");
  t.equal(s.worker("b").isolated, false);
});

t.test("Scheduler.removeWorker() - a task whose next death would fail it runs alone (a suspect)", async (t) => {
  const s = setup({ workers: { a: 2 }, tasks: 5, maxAttempts: 2 });
  t.same(plan(s.dispatch()), { a: [0, 1] });
  t.same(s.removeWorker("a", "a died"), []);
  s.addWorker("b");
  s.grant("b", 10);
  t.same(plan(s.dispatch()), { b: [0] }, "the first suspect, alone on the idle worker");
  t.equal(s.worker("b").isolated, true);
  t.same(s.dispatch(), [], "nothing else goes to a worker running a suspect");
  t.equal(typeof s.result("b", 0), "object", "accepted");
  t.same(plan(s.dispatch()), { b: [1] }, "then the second suspect, alone");
  t.equal(typeof s.result("b", 1), "object", "accepted");
  t.same(plan(s.dispatch()), { b: [2, 3, 4] }, "then the rest, in order, together");
});

t.test("Scheduler.dispatch() - suspects do not hold ordinary tasks back: one worker drains for them", async (t) => {
  const s = setup({ workers: { a: 1, b: 2, c: 2 }, tasks: 3, maxAttempts: 2 });
  s.dispatch();
  const onA = [...s.worker("a").inFlight.keys()];
  t.same(s.removeWorker("a", "a died"), []);
  for (let i = 10; i < 14; i++) s.submit(task(i));
  const p = plan(s.dispatch());
  const ordinary = Object.values(p).flat();
  t.notOk(ordinary.includes(onA[0]), "the suspect waits for an idle worker");
  const draining = [...s.workers].filter((w) => w.draining);
  t.equal(draining.length, 1, "one worker is drained for it");
  const other = [...s.workers].find((w) => !w.draining);
  t.ok((p[other.key] ?? []).length > 0 || other.inFlight.size > 0, "the other worker goes on with ordinary tasks");
  const d = draining[0];
  for (const seq of [...d.inFlight.keys()]) s.result(d.key, seq);
  s.grant(d.key, 5);
  t.same(plan(s.dispatch())[d.key], onA, "once idle, the drained worker runs the suspect alone");
  t.equal(d.isolated, true);
});

t.test("Scheduler.submit() - a dependency that has not arrived yet is waited for, not taken as failed", async (t) => {
  const s = setup({ workers: { a: 5 } });
  t.equal(s.submit(task(5), [4]), true, "5 after 4, which is on its way");
  t.equal(s.waiting, 1);
  t.same(s.takeDependencyFailures(), [], "not failed");
  s.submit(task(4));
  t.same(plan(s.dispatch()), { a: [4] }, "4 runs; 5 waits for it");
  s.result("a", 4, true);
  t.same(plan(s.dispatch()), { a: [5] }, "then 5");
  t.equal(s.waiting, 0);
});

t.test("Scheduler.withdraw() - withdrawing a dependency that never arrived fails what waits for it", async (t) => {
  const s = setup({ workers: { a: 5 } });
  s.submit(task(9, { id: "child" }), [8]);
  s.withdraw([8]);
  const failures = s.takeDependencyFailures();
  t.equal(failures.length, 1);
  t.equal(failures[0].task.seq, 9);
  t.equal(failures[0].because, 8);
  t.equal(s.waiting, 0);
  t.same(s.dispatch(), [], "it never runs");
});

t.test("Scheduler.submit() - rerun: a finished seq is taken again only when the caller says its result was lost", async (t) => {
  const s = setup({ workers: { a: 5 }, tasks: 1 });
  s.dispatch();
  s.result("a", 0);
  t.equal(s.submit(task(0)), false, "finished: ignored");
  t.equal(s.submit(task(0), undefined, false, true), true, "rerun: taken");
  t.same(plan(s.dispatch()), { a: [0] });
});

t.test("Scheduler.wedged() - only a started timed task past its timeout, or a worker stuck on cancelled work, counts", async (t) => {
  const s = setup({ workers: { a: 5 } });
  s.submit(task(0, { timeout: 0 }));
  s.submit(task(1, { timeout: 100 }));
  s.dispatch(0);
  t.same(s.wedged(10_000, 1000), [], "a timed task that never started (behind a long untimed one) is not blamed");
  s.started("a", [1], 2000);
  t.same(s.wedged(2500, 1000), [], "within its timeout and grace");
  s.heard("a", 2000);
  const stuck = s.wedged(3200, 1000);
  t.equal(stuck.length, 1, "past timeout + grace since its announced start, the worker silent");
  t.same(stuck[0].timedOut.map((x) => x.seq), [1]);
  t.equal(s.worker("a").inFlight.has(0), true, "the untimed task stays with the worker until the broker drops it");

  const c = setup({ workers: { b: 5 } });
  c.worker("b").concurrency = 1;
  c.submit(task(0));
  c.submit(task(1));
  c.dispatch(0);
  c.withdraw([1], 10);
  t.same(c.wedged(5000, 1000), [], "the cancelled task waits behind a running one that is not cancelled");
  c.withdraw([0], 20);
  const cancelled = c.wedged(5000, 1000);
  t.equal(cancelled.length, 1, "everything it may be running is cancelled and it is silent: stuck");
  t.same(cancelled[0].timedOut, []);
});

t.test("Scheduler.removeWorker() - fails a task after maxAttempts deaths", async (t) => {
  const s = setup({ workers: { a: 1, b: 1 }, tasks: 1, maxAttempts: 2 });
  const first = s.dispatch()[0].worker.key;
  const other = first === "a" ? "b" : "a";
  t.same(s.removeWorker(first, "first death"), [], "first death: requeued");
  t.same(plan(s.dispatch()), { [other]: [0] }, "run again on the other worker");
  const failed = s.removeWorker(other, "second death (killed by SIGKILL)");
  t.equal(failed.length, 1, "second death: it fails");
  t.equal(failed[0].seq, 0);
  t.equal(failed[0].deaths, 2);
  t.equal(failed[0].lastExit, "second death (killed by SIGKILL)");
  t.equal(s.queued, 0, "not requeued");
  t.equal(s.isFinished(0), true);
  s.addWorker("c");
  s.grant("c", 5);
  t.same(s.dispatch(), [], "never run again");
  t.same(s.result(other, 0), "duplicate", "a late result from the dead worker is a duplicate");
});

t.test("Scheduler.dispatch() - a suspect waits for an idle worker and runs alone", async (t) => {
  const s = setup({ workers: { a: 1, b: 3 }, tasks: 2, maxAttempts: 2 });
  // a holds 0, b holds 1; b has credit left.
  const first = plan(s.dispatch());
  const onA = first.a[0];
  t.same(s.removeWorker("a", "a died"), []);
  t.same(s.dispatch(), [], "b is busy, so the survivor is not added to its batch");
  t.equal(s.queued, 1);
  t.equal(typeof s.result("b", first.b[0]), "object", "accepted");
  t.same(plan(s.dispatch()), { b: [onA] }, "once b is idle it takes the survivor");
  t.equal(s.worker("b").isolated, true, "b is isolated while it runs it");
  s.submit(task(10));
  t.same(s.dispatch(), [], "no new task joins it, though b has credit");
  s.addWorker("c");
  s.grant("c", 1);
  t.same(plan(s.dispatch()), { c: [10] }, "another worker takes new work meanwhile");
  t.equal(typeof s.result("b", onA), "object", "accepted");
  t.equal(s.worker("b").isolated, false, "b is back to normal once the survivor is done");
});

t.test("Scheduler.withdraw() - drops queued tasks and returns running ones per worker", async (t) => {
  const s = setup({ workers: { a: 2, b: 2 }, tasks: 8 });
  const p = plan(s.dispatch());
  t.equal(s.queued, 4);
  const running = s.withdraw([...p.a, p.b[0], 4, 5, 99]);
  t.equal(running.size, 2, "both workers hold withdrawn tasks");
  const byKey = Object.fromEntries([...running].map(([w, seqs]) => [w.key, seqs]));
  t.same(byKey, { a: p.a, b: [p.b[0]] }, "running tasks, grouped by the worker to send a Cancel to");
  t.equal(s.queued, 2, "queued 4 and 5 are gone");
  t.equal(s.isFinished(4), true);
  t.same(s.withdraw([4, ...p.a]), new Map(), "withdrawing twice does nothing");
  s.grant("a", 10);
  s.grant("b", 10);
  const later = plan(s.dispatch());
  t.same(Object.values(later).flat().sort(), [6, 7], "withdrawn queued tasks are never dispatched");
  t.same(s.result("a", p.a[0]), "withdrawn", "the result of a withdrawn running task is dropped");
});

t.test("Scheduler.result() - verdicts: accepted, duplicate, not-held, withdrawn", async (t) => {
  const s = setup({ workers: { a: 2, b: 1 }, tasks: 3 });
  const p = plan(s.dispatch());
  const [x, y] = p.a;
  const z = p.b[0];
  const accepted = s.result("a", x);
  t.equal(typeof accepted, "object", "accepted: the task comes back");
  t.equal(accepted.seq, x);
  t.equal(s.worker("a").done, 1);
  t.same(s.result("a", x), "duplicate", "the same result again");
  t.same(s.result("a", 12345), "not-held", "a seq never submitted");
  t.same(s.result("a", z), "not-held", "a task that another worker holds");
  t.same(s.result("nobody", y), "not-held", "an unknown worker");
  t.equal(s.inFlight, 2, "not-held results change nothing");
  s.withdraw([y]);
  t.same(s.result("a", y), "withdrawn");
  t.equal(typeof s.result("b", z), "object", "accepted");
  t.equal(s.inFlight, 0);
});

t.test("Scheduler.submit() - refuses a seq it knows or has finished", async (t) => {
  const s = setup({ workers: { a: 1 }, tasks: 1 });
  t.equal(s.submit(task(0)), false, "queued already");
  s.dispatch();
  t.equal(s.submit(task(0)), false, "in flight");
  s.result("a", 0);
  t.equal(s.submit(task(0)), false, "finished");
  t.equal(s.queued, 0);
});
