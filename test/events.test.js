// The LoadBalancer's events: workerJoin and workerExit (local and remote workers), retry (a task
// whose worker died runs again) and brokerRestart. Each awaited as an event, never polled for.
import { once } from "node:events";
import t from "tap";
import { WorkerExitError } from "../dist/index.js";
import { collect, createLb, range, waitFor } from "./helpers.js";
import { startWorker } from "./remote-helpers.js";

/** Resolves with the first `name` event whose argument passes `test`. */
function eventWhere(emitter, name, test = () => true) {
  return new Promise((resolve) => {
    const listener = (event) => {
      if (!test(event)) return;
      emitter.off(name, listener);
      resolve(event);
    };
    emitter.on(name, listener);
  });
}

t.test('"workerJoin" - each local worker that joins, with its id and pid, matching stats()', async (t) => {
  const lb = createLb(t, { workers: 2 });
  const joins = [];
  const both = new Promise((resolve) => lb.on("workerJoin", (e) => joins.push(e) === 2 && resolve()));
  await both;
  for (const e of joins) {
    t.equal(e.remote, false, "local");
    t.type(e.id, "string");
    t.ok(e.pid > 0, "has a pid");
  }
  t.same(new Set(joins.map((e) => e.pid)), new Set(lb.pids.workers), "the pids are the local workers'");
  await lb.ready;
  // stats() is a snapshot that comes with the broker's next counts: wait until it lists both.
  const listed = () => new Set(lb.stats().workers.map((w) => w.id));
  await waitFor(() => listed().size === 2, { what: "stats() to list both workers" });
  for (const e of joins) t.ok(listed().has(e.id), `id ${e.id} is the one stats().workers lists`);
});

t.test('"retry" and "workerExit" - a worker dies holding a task: its exit code, then the task runs again', async (t) => {
  const lb = createLb(t, { workers: 2, maxAttempts: 3 });
  await lb.ready;
  const retried = once(lb, "retry");
  const exited = eventWhere(lb, "workerExit", (e) => e.code === 9);
  // A join of a process started after these (ready promises one worker: the other may join later).
  const first = [...lb.pids.workers];
  const replaced = eventWhere(lb, "workerJoin", (e) => !first.includes(e.pid));
  // The task kills its worker (exit code 9) on its first run, and answers on the second.
  const [result] = await collect(lb.map([{ op: "exitBelow", attempt: 2, code: 9, value: "again" }]));
  t.same(result, { attempt: 2, value: "again" });
  const [retry] = await retried;
  t.equal(retry.attempt, 2, "the run that starts now");
  t.equal(retry.index, 0, "the map item's index");
  t.type(retry.id, "string");
  t.ok(retry.error instanceof WorkerExitError, "the error: a WorkerExitError");
  t.match(retry.error.message, /was lost/);
  const exit = await exited;
  t.equal(exit.remote, false);
  t.ok(exit.pid > 0);
  t.equal(exit.code, 9, "the exit code");
  t.equal(exit.signal, undefined);
  t.match(exit.reason, /lost/, `the reason (${exit.reason})`);
  const join = await replaced;
  t.not(join.pid, exit.pid, "a replacement joined");
});

t.test('"workerExit" - a worker killed by a signal names it', async (t) => {
  const lb = createLb(t, { workers: 1 });
  await lb.ready;
  const [victim] = lb.pids.workers;
  const exited = eventWhere(lb, "workerExit", (e) => e.pid === victim);
  process.kill(victim, "SIGKILL");
  const exit = await exited;
  t.equal(exit.signal, "SIGKILL");
  t.equal(exit.code, undefined);
});

t.test('"brokerRestart" - the broker is killed: a new one starts and the event says how the old one ended', async (t) => {
  const lb = createLb(t, { workers: 1 });
  await lb.ready;
  const restarted = once(lb, "brokerRestart");
  process.kill(lb.pids.broker, "SIGKILL");
  const [event] = await restarted;
  t.match(event.reason, /SIGKILL/);
  t.equal(event.restarts, 1);
  t.same(await collect(lb.map(range(5))), range(5, (i) => i * 2), "the pool works after it");
});

t.test('"workerJoin" and "workerExit" - a remote worker joining and leaving is heard', async (t) => {
  const lb = createLb(t, { workers: 0, endpoint: "tcp://127.0.0.1:0" });
  await lb.ready;
  const joined = once(lb, "workerJoin");
  const worker = startWorker(t, lb.endpoint);
  const [join] = await joined;
  t.equal(join.remote, true);
  t.equal(join.pid, worker.pid, "its pid, as it said in its Hello");
  t.type(join.name, "string", "its host name");
  const exited = once(lb, "workerExit");
  process.kill(worker.pid, "SIGTERM");
  const [exit] = await exited;
  t.equal(exit.remote, true);
  t.equal(exit.id, join.id);
  t.equal(exit.reason, "left", "it said Bye");
  t.equal(exit.code, undefined, "no exit code for a remote worker");
  await worker.exited;
});
