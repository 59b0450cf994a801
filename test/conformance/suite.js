// The worker conformance suite: a fake broker (a ROUTER in this process) drives a worker started
// as a command through every message of docs/protocol.md: Hello, Welcome (workerData, grace),
// Ready and credits, Tasks with columns as arrays and as scalars, WorkerResults, the worker's own
// failures, Cancel (queued and running), timeouts, Reset and a Hello again, repeated Welcomes,
// Tasks it must drop, Goodbye (waiting for the next broker, or --exit-on-close), Bye on SIGTERM,
// Refused, and a failed set-up. Written once; run against any implementation with
// `conformance(t, { name, start })` (test/conformance-*.test.js). The worker loads the suite's
// handlers (handlers.js / handlers.py): echo (default), sleep (says `conformance: sleeping <ms> ms`
// on stderr first), wait, fail, unencodable, getWorkerData, setupCount.
import { encode } from "@msgpack/msgpack";
import * as zmq from "zeromq";
import { alive, waitFor } from "../helpers.js";
import { header, inbox, Kind, resultsOf, Status } from "../wire-peer.js";

/** A fake broker bound on loopback: its messages in order, sends to a worker by routing id, and the credit each worker has left. */
async function fakeBroker(t, endpoint = "tcp://127.0.0.1:0") {
  const socket = new zmq.Router({ linger: 0 });
  for (let tries = 0; ; tries++) {
    try {
      await socket.bind(endpoint);
      break;
    } catch (err) {
      // The previous broker at this port is still letting it go (a rebind after its close).
      if (tries > 500) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  const box = inbox(socket, true);
  const broker = {
    socket,
    box,
    endpoint: socket.lastEndpoint,
    credit: 0,
    answered: new Map(),
    send(id, k, fields = {}, body) {
      return socket.send(body === undefined ? [id, header(k, fields)] : [id, header(k, fields), body]);
    },
    /** Hello → Welcome (workerData as one value, no len) → Ready. Returns { id, hello, ready }. */
    async join({ workerData = null, grace = 200, hello } = {}) {
      hello ??= await box.take(Kind.Hello, "Hello");
      await broker.send(hello.from, Kind.Welcome, { session: "conformance", grace }, Buffer.from(encode(workerData)));
      const ready = await box.take(Kind.Ready, "Ready after Welcome");
      broker.credit = ready.h.credit;
      return { id: hello.from, hello, ready };
    },
    /** Tasks [{ fn?, att?, to?, id?, input? | raw? }] as one message; columns as arrays, or as scalars with `scalars`. */
    async tasks(id, seqs, tasks, { scalars = false } = {}) {
      if (broker.credit < seqs.length) throw new Error(`the suite would send ${seqs.length} tasks on a credit of ${broker.credit}`);
      broker.credit -= seqs.length;
      const bodies = tasks.map((task) => task.raw ?? Buffer.from(encode(task.input ?? null)));
      const col = (name, fallback) => (scalars ? tasks[0][name] ?? fallback : tasks.map((task) => task[name] ?? fallback));
      const fields = { seq: seqs, len: bodies.map((b) => b.length), fn: col("fn", ""), att: col("att", 1), to: col("to", 0), id: col("id", "") };
      await broker.send(id, Kind.Tasks, fields, Buffer.concat(bodies));
    },
    /** WorkerResults until every seq of `seqs` is answered: Map seq → { st, value }. Grants are added to credit. */
    async results(seqs, what = `results for ${seqs}`) {
      const out = new Map();
      while (!seqs.every((s) => out.has(s))) {
        const m = await box.take(Kind.WorkerResults, what);
        if (typeof m.h.credit === "number") broker.credit += m.h.credit;
        for (const r of resultsOf(m)) {
          broker.answered.set(r.seq, (broker.answered.get(r.seq) ?? 0) + 1);
          out.set(r.seq, r);
        }
      }
      return out;
    },
    /** Every seq answered so far by any WorkerResults received (taken or not). */
    everAnswered(seq) {
      return box.all.some((m) => m.h.k === Kind.WorkerResults && Array.isArray(m.h.seq) && m.h.seq.includes(seq));
    },
    close: () => socket.close(),
  };
  t.teardown(() => socket.close());
  return broker;
}

/**
 * Runs the suite. `start(t, endpoint, args)` starts the worker under test with the suite's
 * handlers, connected to `endpoint`, with extra command-line `args` (e.g. --concurrency 1,
 * --exit-on-close); it returns { pid, exited (promise of { code, signal }), stderr() }.
 */
export function conformance(t, { name, start }) {
  t.test(`${name} - Hello, Welcome with workerData, Ready; Tasks with array and scalar columns; results; credits`, async (t) => {
    const b = await fakeBroker(t);
    start(t, b.endpoint, ["--concurrency", "2"]);
    const hello = await b.box.take(Kind.Hello, "Hello");
    t.equal(hello.h.v, 1, "Hello carries v 1");
    t.ok(Number.isSafeInteger(hello.h.pid) && hello.h.pid > 0, "Hello carries its pid");
    t.equal(hello.h.concurrency, 2, "Hello carries its concurrency");
    const { id, ready } = await b.join({ workerData: { answer: 42 }, hello });
    t.ok(ready.h.credit >= 2, `Ready grants at least its concurrency as credit (${ready.h.credit})`);

    await b.tasks(id, [1, 2], [{ input: "x", id: "a" }, { input: { k: [1, 2], t: true } }]);
    const first = await b.results([1, 2]);
    t.same([first.get(1).st, first.get(1).value], [Status.Ok, "x"], "array columns: the default handler echoes");
    t.same([first.get(2).st, first.get(2).value], [Status.Ok, { k: [1, 2], t: true }], "maps and arrays come back as sent");
    t.ok(b.credit >= 2, "answering grants the credit back (the suite's view of its credit is not below its concurrency)");

    await b.tasks(id, [3, 4], [{ fn: "getWorkerData", att: 2, input: null }, { fn: "getWorkerData", att: 2, input: null }], { scalars: true });
    const second = await b.results([3, 4]);
    t.same([second.get(3).st, second.get(3).value], [Status.Ok, { answer: 42 }], "scalar columns; workerData is Welcome's one-value body");
    t.same(second.get(4).value, { answer: 42 });
    await b.tasks(id, [5], [{ fn: "setupCount" }]);
    t.equal((await b.results([5])).get(5).value, 1, "setup ran once");
  });

  t.test(`${name} - its own failures: missing handler, undecodable input, unencodable result, a throwing handler`, async (t) => {
    const b = await fakeBroker(t);
    start(t, b.endpoint, ["--concurrency", "2"]);
    const { id } = await b.join();
    const cases = [
      [10, { fn: "noSuchHandler" }, "TypeError"],
      [11, { raw: Buffer.from([0xc1]) }, "TypeError"],
      [12, { fn: "unencodable" }, "TypeError"],
      [13, { fn: "fail" }, undefined],
    ];
    for (const [seq, task, errorName] of cases) {
      await b.tasks(id, [seq], [task]);
      const r = (await b.results([seq])).get(seq);
      t.equal(r.st, Status.Error, `seq ${seq}: status 1`);
      t.type(r.value?.name, "string", "an error value with a name");
      t.type(r.value?.message, "string", "and a message");
      if (errorName) t.equal(r.value.name, errorName, `named ${errorName}`);
      if (seq === 11) t.match(r.value.message, /cannot be decoded/);
      if (seq === 12) t.equal(r.value.code, "ERR_ZEROLB_UNSUPPORTED_VALUE", "with its code");
      if (seq === 13) t.match(r.value.message, /boom/, "the handler's message");
    }
  });

  t.test(`${name} - Cancel: a queued task is answered Cancelled, a running one is told and answered; unknown seqs ignored; timeouts`, async (t) => {
    const b = await fakeBroker(t);
    start(t, b.endpoint, ["--concurrency", "1"]);
    const { id, ready } = await b.join({ grace: 60_000 });
    t.ok(ready.h.credit >= 2, "a window beyond concurrency 1");
    await b.tasks(id, [20, 21], [{ fn: "wait" }, { input: "queued" }]);
    // Its only slot is taken by the waiting task, so 21 cannot have started.
    await b.send(id, Kind.Cancel, { seq: [21, 999] });
    const queued = (await b.results([21])).get(21);
    t.equal(queued.st, Status.Cancelled, "the queued task: status 5");
    t.equal(queued.value?.name, "CancelledError", "a CancelledError value");
    await b.send(id, Kind.Cancel, { seq: [20] });
    const running = (await b.results([20])).get(20);
    t.ok([Status.Ok, Status.Error, Status.Cancelled].includes(running.st), `the running one is answered once its handler sees the cancel (st ${running.st})`);
    await b.tasks(id, [22], [{ fn: "wait", to: 50 }]);
    const timedOut = (await b.results([22])).get(22);
    t.equal(timedOut.st, Status.Timeout, "a task past its `to`: status 2");
    t.equal(timedOut.value?.name, "TimeoutError");
    await b.tasks(id, [23], [{ input: "after" }]);
    t.equal((await b.results([23])).get(23).value, "after", "the worker goes on");
    t.notOk(b.everAnswered(999), "the unknown seq was never answered");
    t.equal(b.answered.get(21), 1, "each task answered once");
  });

  t.test(`${name} - Reset: drops what it holds and says Hello again (set-up not run again); one Ready per Hello; Tasks before its Ready are dropped`, async (t) => {
    const b = await fakeBroker(t);
    start(t, b.endpoint, ["--concurrency", "1"]);
    const { id } = await b.join();
    await b.tasks(id, [30], [{ fn: "wait" }]);
    await b.send(id, Kind.Reset);
    const hello = await b.box.take(Kind.Hello, "Hello again after Reset");
    // Before its Ready, Tasks are stale: they must be neither run nor answered.
    await b.send(id, Kind.Tasks, { seq: [31], len: [2], fn: "" }, Buffer.from(encode("x")));
    // The Hello answered twice (as a broker does when Hellos cross): one Ready only.
    await b.send(id, Kind.Welcome, { session: "conformance-2", grace: 200 }, Buffer.from(encode(null)));
    await b.send(id, Kind.Welcome, { session: "conformance-2", grace: 200 }, Buffer.from(encode(null)));
    const ready = await b.box.take(Kind.Ready, "Ready after the new Welcome");
    b.credit = ready.h.credit;
    t.equal(hello.from.toString("hex"), id.toString("hex"), "the same routing id");
    await b.tasks(id, [32], [{ fn: "setupCount" }]);
    t.equal((await b.results([32])).get(32).value, 1, "set-up ran once in all");
    await b.tasks(id, [33], [{ input: "last" }]);
    await b.results([33]);
    t.equal(b.box.count(Kind.Ready), 2, "one Ready per Hello answered, though two Welcomes came");
    t.notOk(b.everAnswered(30), "the task held at the Reset is never answered");
    t.notOk(b.everAnswered(31), "the Tasks before its Ready were dropped");
  });

  t.test(`${name} - Goodbye: drops what it holds and joins the next broker at the same endpoint`, async (t) => {
    const first = await fakeBroker(t);
    const worker = start(t, first.endpoint, ["--concurrency", "1"]);
    const { id } = await first.join();
    await first.tasks(id, [40], [{ fn: "wait" }]);
    await first.send(id, Kind.Goodbye);
    const endpoint = first.endpoint;
    await first.close();
    const next = await fakeBroker(t, endpoint);
    const { id: again } = await next.join();
    await next.tasks(again, [41], [{ fn: "setupCount" }]);
    t.equal((await next.results([41])).get(41).value, 1, "served the next broker, set-up not run again");
    t.notOk(first.everAnswered(40) || next.everAnswered(40), "the task held at the Goodbye was dropped");
    t.ok(alive(worker.pid), "still running");
  });

  t.test(`${name} --exit-on-close - Goodbye: exits 0`, async (t) => {
    const b = await fakeBroker(t);
    const worker = start(t, b.endpoint, ["--exit-on-close"]);
    const { id } = await b.join();
    await b.send(id, Kind.Goodbye);
    t.same(await worker.exited, { code: 0, signal: null }, "exit code 0");
  });

  t.test(`${name} - SIGTERM: running tasks finish, then Bye names the ones not started; Tasks after Bye are dropped; exits 0 at Reset`, async (t) => {
    const b = await fakeBroker(t);
    const worker = start(t, b.endpoint, ["--concurrency", "1"]);
    const { id } = await b.join();
    await b.tasks(id, [50, 51], [{ fn: "sleep", input: { ms: 400 } }, { input: "not started" }]);
    // SIGTERM once the task runs (the handler says so on stderr), not before the Tasks arrive.
    await waitFor(() => /conformance: sleeping 400 ms/.test(worker.stderr()), { what: "the sleep handler to start" });
    process.kill(worker.pid, "SIGTERM");
    const done = await b.results([50]);
    t.equal(done.get(50).st, Status.Ok, "the running task finished and was answered");
    const bye = await b.box.take(Kind.Bye, "Bye");
    t.same(bye.h.seq, [51], "Bye lists the task it did not start");
    t.equal(bye.h.error, undefined, "no error: it leaves on purpose");
    await b.send(id, Kind.Tasks, { seq: [52], len: [2], fn: "" }, Buffer.from(encode("y")));
    await b.send(id, Kind.Reset);
    t.same(await worker.exited, { code: 0, signal: null }, "exit code 0");
    t.notOk(b.everAnswered(51) || b.everAnswered(52), "neither the handed-back task nor one sent after Bye was answered");
  });

  t.test(`${name} - Refused: exits non-zero and shows the reason`, async (t) => {
    const b = await fakeBroker(t);
    const worker = start(t, b.endpoint, []);
    const hello = await b.box.take(Kind.Hello, "Hello");
    await b.socket.send([hello.from, header(Kind.Refused, { reason: "conformance refuses version 1" }, 2)]);
    const { code } = await worker.exited;
    t.not(code, 0, `a failure exit code (${code})`);
    t.match(worker.stderr(), /conformance refuses version 1/, "the reason on stderr");
  });

  t.test(`${name} - a failed set-up: Bye with an error value, exit 1 after the broker's Reset`, async (t) => {
    const b = await fakeBroker(t);
    const worker = start(t, b.endpoint, []);
    const hello = await b.box.take(Kind.Hello, "Hello");
    await b.send(hello.from, Kind.Welcome, { session: "conformance", grace: 200 }, Buffer.from(encode({ setupThrows: true })));
    const bye = await b.box.take(Kind.Bye, "Bye reporting the failed set-up");
    t.same(bye.h.seq, [], "nothing held");
    t.type(bye.h.error?.name, "string", "an error value: name");
    t.match(bye.h.error?.message, /setup failed on purpose/, "and the set-up's message");
    await b.send(hello.from, Kind.Reset);
    t.same(await worker.exited, { code: 1, signal: null }, "exit code 1");
    t.equal(b.box.count(Kind.Ready), 0, "it never said Ready");
    t.match(worker.stderr(), /setup failed on purpose/, "the reason on stderr");
  });
}

