// Hedging in the broker's scheduler, driven directly (no processes, sockets or clocks): when a
// straggler is started again, which result wins, and what a death of one of its two holders does.
import t from "tap";
import { Scheduler } from "../dist/broker/scheduler.js";

const task = (seq, extra = {}) => ({
  seq, id: "", fn: "", timeout: 0, deaths: 0, payload: new Uint8Array([1]), payloadStart: 0, payloadEnd: 1, worker: undefined, withdrawn: false,
  lastExit: "", dispatchedAt: 0, dispatchOrder: 0, startedAt: 0, cancelledAt: 0, waitingOn: 0, dependents: undefined, item: undefined, job: -1,
  failures: 0, retryAt: 0, controls: { retries: 0, retryDelay: 100, priority: 0, batchSize: 1, batchWait: 2 },
  hedgeGroup: 1, hedgeTwin: undefined, hedgeLoser: false, ...extra,
});
const plan = (dispatches) => Object.fromEntries(dispatches.map((d) => [d.worker.key, d.tasks.map((x) => x.seq)]));


t.test("Scheduler hedge - a task past 3 × its map's median is started again on an idle worker, not before", async (t) => {
  const s = new Scheduler({ maxAttempts: 3 });
  for (const key of ["a", "b"]) s.addWorker(key, 1, 0);
  s.grant("a", 1);
  for (let seq = 0; seq < 6; seq++) {
    s.submit(task(seq));
    s.dispatch(seq * 10);
    s.result("a", seq, true, seq * 10 + 10);
    s.grant("a", 1);
  }
  s.submit(task(100));
  t.same(plan(s.dispatch(100)), { a: [100] }, "the only worker with credit takes it");
  s.grant("b", 1);
  t.same(plan(s.dispatch(125)), {}, "at 2.5 × the median (10 ms): not yet");
  t.same(plan(s.dispatch(131)), { b: [100] }, "past 3 × the median: run again on idle b");
  t.equal(s.hedge.hedged, 1);
  t.same(plan(s.dispatch(1000)), {}, "never a third run");
  t.equal(s.inFlight, 2, "held by both");

  const won = s.result("b", 100, true, 1001);
  t.equal(won.seq, 100, "the first result wins");
  t.same(s.hedge.takeCancels().map(([w, seq]) => [w.key, seq]), [["a", 100]], "the other run is to be cancelled");
  t.equal(s.result("a", 100, false, 1002), "hedge-lost", "the loser's result is dropped quietly");
  t.equal(s.hedge.lost, 1);
  t.equal(s.inFlight, 0);
  t.ok(s.isFinished(100));
});

t.test("Scheduler hedge - a death of one holder neither requeues the task nor counts against it", async (t) => {
  const s = new Scheduler({ maxAttempts: 3 });
  for (const key of ["a", "b"]) s.addWorker(key, 1, 0);
  s.grant("a", 1);
  for (let seq = 0; seq < 6; seq++) {
    s.submit(task(seq));
    s.dispatch(seq * 10);
    s.result("a", seq, true, seq * 10 + 10);
    s.grant("a", 1);
  }
  s.submit(task(100));
  s.dispatch(100);
  s.grant("b", 1);
  t.same(plan(s.dispatch(200)), { b: [100] });
  t.same(s.removeWorker("a", "killed", true), [], "nothing failed");
  t.equal(s.queued, 0, "not requeued: its other run goes on");
  t.equal(s.retried, 0, "not counted as retried");
  const won = s.result("b", 100, true, 300);
  t.equal(won.seq, 100, "the surviving run's result is the task's");
  t.equal(won.deaths, 0, "no death counted");
  t.same(s.hedge.takeCancels(), [], "nothing to cancel");
});

t.test("Scheduler hedge - tasks without a map id are never hedged", async (t) => {
  const s = new Scheduler({ maxAttempts: 3 });
  for (const key of ["a", "b"]) s.addWorker(key, 1, 0);
  s.grant("a", 1);
  for (let seq = 0; seq < 6; seq++) {
    s.submit(task(seq, { hedgeGroup: 0 }));
    s.dispatch(seq * 10);
    s.result("a", seq, true, seq * 10 + 10);
    s.grant("a", 1);
  }
  s.submit(task(100, { hedgeGroup: 0 }));
  s.dispatch(100);
  s.grant("b", 1);
  t.same(plan(s.dispatch(100_000)), {}, "no hedge");
  t.equal(s.hedge.active, false, "hedging never armed");
});
