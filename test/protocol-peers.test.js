// docs/protocol.md, checked with a hand-written peer on real ZeroMQ sockets: a fake worker (a
// DEALER speaking the protocol) against a real broker, and a fake broker (a ROUTER) against the real
// `zerolb worker`. What the page says each side does is what each side must be seen to do.
import { decode, encode } from "@msgpack/msgpack";
import { writeFileSync } from "node:fs";
import t from "tap";
import * as zmq from "zeromq";
import { CancelledError, TaskError } from "../dist/index.js";
import { lineCount, sharedLb, tmpPath, waitFor, within } from "./helpers.js";
import { startWorker } from "./remote-helpers.js";

import { header, inbox, Kind, Status } from "./wire-peer.js";

/** A worker written from docs/protocol.md: a DEALER at `endpoint`, closed when the test ends. */
function fakeWorker(t, endpoint) {
  const socket = new zmq.Dealer({ linger: 0 });
  t.teardown(() => socket.close());
  socket.connect(endpoint);
  const box = inbox(socket);
  return {
    socket,
    ...box,
    send: (k, fields, body) => socket.send(body === undefined ? [header(k, fields)] : [header(k, fields), body]),
    /** Hello, Welcome, Ready with this much credit: joined. Returns the Welcome. */
    async join(credit, hello = { pid: 4242, concurrency: 1 }) {
      await this.send(Kind.Hello, hello);
      const welcome = await box.next(Kind.Welcome, "Welcome");
      await this.send(Kind.Ready, { credit });
      return welcome;
    },
    /** Waits for Tasks messages until `n` tasks came; returns them as { seq, fn, att, to, id, input }. */
    async tasks(n) {
      const out = [];
      while (out.length < n) {
        const { h, body } = await box.next(Kind.Tasks, `${n} tasks`);
        let offset = 0;
        h.seq.forEach((seq, i) => {
          const col = (name, fallback) => (Array.isArray(h[name]) ? h[name][i] : h[name] ?? fallback);
          out.push({ seq, fn: col("fn", ""), att: col("att", 1), to: col("to", 0), id: col("id", ""), input: decode(body.subarray(offset, offset + h.len[i])) });
          offset += h.len[i];
        });
      }
      return out;
    },
    /** Answers tasks: [[seq, status, value]], granting `credit`. */
    answer(results, credit = 0) {
      const bodies = results.map(([, , value]) => Buffer.from(encode(value)));
      const fields = { seq: results.map(([s]) => s), st: results.map(([, st]) => st), len: bodies.map((b) => b.length) };
      if (credit > 0) fields.credit = credit;
      return this.send(Kind.WorkerResults, fields, Buffer.concat(bodies));
    },
  };
}

const remoteOnly = (extra = {}) => ({ workers: 0, endpoint: "tcp://127.0.0.1:0", ...extra });
// Each test below leaves the broker as it found it: its fake worker closes, every result is received.
const broker = sharedLb(t, remoteOnly({ workerData: { model: "small" }, maxMessageSize: 64 * 1024 }));

t.test("protocol - Hello is answered with Welcome (a session, and workerData as the body); a Ready without Hello with Reset", async (t) => {
  const lb = broker();
  await lb.ready;
  const w = fakeWorker(t, lb.endpoint);
  await w.next(Kind.Reset, "the Reset that greets a new connection");
  await w.send(Kind.Ready, { credit: 1 });
  await w.next(Kind.Reset, "a Reset answering Ready without Hello");
  await w.answer([[0, Status.Ok, 1]]);
  await w.next(Kind.Reset, "a Reset answering results without Hello");
  const welcome = await w.join(0);
  t.type(welcome.h.session, "string");
  t.ok(welcome.h.session.length > 0, "a session");
  t.same(decode(welcome.body), { model: "small" }, "workerData is the Welcome's body");
});

t.test("protocol - the broker sends no more tasks than the credit granted; a result's grant brings the next; columns and statuses", async (t) => {
  const lb = broker();
  await lb.ready;
  const w = fakeWorker(t, lb.endpoint);
  await w.join(2);
  const ids = [await lb.send(7, { id: "job-1", fn: "triple", timeout: 5000 }), await lb.send(8), await lb.send(9)];
  const first = await w.tasks(2);
  t.same(first.map((task) => task.input), [7, 8], "two tasks for a credit of two, in order");
  t.match(first[0], { fn: "triple", att: 1, to: 5000, id: "job-1" }, "fn, att, to and id columns");
  t.match(first[1], { fn: "", att: 1, to: 0 }, "defaults: the default handler, first attempt, no timeout");
  t.same(w.pending(Kind.Tasks), [], "the third has not come: no credit left");
  await w.answer([[first[0].seq, Status.Ok, 21]], 1);
  const [third] = await w.tasks(1);
  t.equal(third.input, 9, "a grant of one brings the third");
  t.same(await lb.receive(), { id: ids[0], ok: true, value: 21 }, "a result of status 0 is the task's value");
  await w.answer([[first[1].seq, Status.Error, { name: "ValueError", message: "no eights", code: "E_EIGHT", detail: 8 }], [third.seq, Status.Ok, 27]]);
  const rest = [await lb.receive(), await lb.receive()];
  const failed = rest.find((r) => r.id === ids[1]);
  t.ok(failed.error instanceof TaskError, "status 1 is a TaskError");
  t.match(failed.error.cause, { name: "ValueError", message: "no eights", code: "E_EIGHT", detail: 8 }, "whose cause is the error value, extra fields too");
  t.same(rest.find((r) => r.id === ids[2]), { id: ids[2], ok: true, value: 27 });
});

t.test("protocol - Hello while joined gives back the tasks held without a death counted, as Bye does (answered by Reset)", async (t) => {
  const lb = broker();
  await lb.ready;
  const w = fakeWorker(t, lb.endpoint);
  await w.join(1);
  const id = await lb.send("held");
  const [task] = await w.tasks(1);
  t.equal(task.att, 1);
  await w.join(1); // Hello again: the worker is evidently alive (a reconnect), so no death is counted
  const [again] = await w.tasks(1);
  t.same([again.seq, again.input, again.att], [task.seq, "held", 1], "the same task comes back, still attempt 1");
  await w.send(Kind.Bye, { seq: [again.seq] });
  await w.next(Kind.Reset, "the Reset answering Bye");
  await w.join(1);
  const [back] = await w.tasks(1);
  t.same([back.seq, back.att], [task.seq, 1], "after Bye it comes back with no death added");
  await w.answer([[back.seq, Status.Ok, "done"]]);
  t.same(await lb.receive(), { id, ok: true, value: "done" }, "and its one result reaches the caller");
});

t.test("protocol - a task the caller withdraws is cancelled at the worker that holds it", async (t) => {
  const lb = broker();
  await lb.ready;
  const w = fakeWorker(t, lb.endpoint);
  await w.join(1);
  const controller = new AbortController();
  const id = await lb.send("to cancel", { signal: controller.signal });
  const [task] = await w.tasks(1);
  controller.abort();
  const cancel = await w.next(Kind.Cancel, "Cancel");
  t.same(cancel.h.seq, [task.seq], "Cancel names the task");
  const r = await lb.receive();
  t.equal(r.id, id);
  t.ok(r.error instanceof CancelledError, "the caller has it as cancelled");
  // The worker answers it (status 5) and grants the credit back; the broker ignores the result.
  await w.answer([[task.seq, Status.Cancelled, { name: "CancelledError", message: "cancelled" }]], 1);
  const next = await lb.send("after");
  const [after] = await w.tasks(1);
  t.equal(after.input, "after", "the worker is sent the next task");
  await w.answer([[after.seq, Status.Ok, "after"]]);
  t.same(await lb.receive(), { id: next, ok: true, value: "after" });
});

t.test("protocol - a message larger than maxMessageSize closes its sender's connection; the broker goes on", async (t) => {
  const lb = broker();
  await lb.ready;
  const big = fakeWorker(t, lb.endpoint);
  const disconnected = new Promise((resolve) => big.socket.events.on("disconnect", resolve));
  await big.join(0);
  await big.send(Kind.Ready, { credit: 0, pad: "x".repeat(100 * 1024) }); // 100 KiB against a limit of 64 KiB
  await within(disconnected, 60_000, "the oversized sender's disconnect");
  t.pass("the connection was closed");
  const w = fakeWorker(t, lb.endpoint);
  await w.join(1);
  const id = await lb.send(1);
  const [task] = await w.tasks(1);
  await w.answer([[task.seq, Status.Ok, 2]]);
  t.same(await lb.receive(), { id, ok: true, value: 2 }, "another worker is served as before");
});

t.test("protocol - bodies in several frames: a worker whose Hello says mf gets each large input as a frame of its own (a view the broker never joined) and may answer in several frames; one that does not gets one body frame", async (t) => {
  const lb = broker();
  await lb.ready;
  const inputs = [Buffer.alloc(20_000, 1), Buffer.alloc(20_000, 2)]; // each ≥ 16 KiB: a "large" value
  const bin = (b) => Buffer.from(encode(b));

  const w = fakeWorker(t, lb.endpoint);
  const welcome = await w.join(2, { pid: 4242, concurrency: 2, mf: true });
  t.equal(welcome.h.mf, true, "the Welcome says the broker reads bodies of several frames");
  // Sent in one turn: one Submit from the caller, whose chunked body holds each input in a frame of its own.
  const ids = await Promise.all(inputs.map((b) => lb.send(b)));
  const messages = [];
  for (let got = 0; got < 2; ) {
    const m = await w.next(Kind.Tasks, "Tasks for the two large inputs");
    messages.push(m);
    got += m.h.seq.length;
  }
  const seqs = messages.flatMap((m) => m.h.seq);
  for (const m of messages) {
    t.same(m.parts.map((p) => p.length), m.h.len, "one body frame per large input, each exactly its value");
    for (const [i, part] of m.parts.entries()) t.ok(part.equals(bin(inputs[m.h.seq[i] === seqs[0] ? 0 : 1])), "the frame is the input's MessagePack bytes");
  }
  // The answer: a small result and a large one, in frames of their own.
  const big = Buffer.alloc(30_000, 3);
  await w.socket.send([header(Kind.WorkerResults, { seq: seqs, st: [Status.Ok, Status.Ok], len: [bin("small").length, bin(big).length] }), bin("small"), bin(big)]);
  const results = [await lb.receive(), await lb.receive()];
  const byId = new Map(results.map((r) => [r.id, r]));
  t.equal(byId.get(ids[0]).value, "small", "the small result, read from its frame");
  t.ok(Buffer.from(byId.get(ids[1]).value).equals(big), "the large result, read from its frame");
  w.socket.close();

  // A worker that does not say mf (the Python worker, an older zerolb): one body frame, as before.
  const plain = fakeWorker(t, lb.endpoint);
  await plain.join(2);
  const plainIds = await Promise.all(inputs.map((b) => lb.send(b)));
  const tasks = await plain.tasks(2);
  t.same(plain.all.filter((m) => m.h.k === Kind.Tasks).map((m) => m.parts.length), plain.all.filter((m) => m.h.k === Kind.Tasks).map(() => 1), "every Tasks message has one body frame");
  t.same(tasks.map((x) => x.input.length), [20_000, 20_000], "holding both inputs");
  await plain.answer(tasks.map((x) => [x.seq, Status.Ok, x.input.length]));
  const plainResults = [await lb.receive(), await lb.receive()];
  t.same(plainResults.map((r) => r.value).sort(), [20_000, 20_000]);
  t.same(plainResults.map((r) => r.id).sort(), [...plainIds].sort());
});

t.test("protocol - zerolb worker: Hello again until Welcomed, one Ready per Hello, Cancel of a task not started answered at once with status 5, Reset makes it say Hello again", async (t) => {
  const router = new zmq.Router({ linger: 0, mandatory: true });
  t.teardown(() => router.close());
  await router.bind("tcp://127.0.0.1:*");
  const box = inbox(router, true);
  const worker = startWorker(t, router.lastEndpoint, { args: ["--concurrency", "1"] });
  const hello = await box.next(Kind.Hello, "the worker's Hello");
  t.match(hello.h, { pid: worker.pid, concurrency: 1 }, "Hello says its pid and concurrency");
  // Unanswered, the Hello is sent again (it may have been lost with a broker that died).
  await box.next(Kind.Hello, "a second Hello when no Welcome came");
  const to = (k, fields, body) => router.send(body === undefined ? [hello.from, header(k, fields)] : [hello.from, header(k, fields), body]);
  await to(Kind.Welcome, { session: "fake" }, Buffer.from(encode(null)));
  const ready = await box.next(Kind.Ready, "Ready");
  t.ok(ready.h.credit >= 2, `Ready grants credit (${ready.h.credit})`);
  // The broker answers every Hello; the worker answers only the first Welcome after its latest Hello.
  await to(Kind.Welcome, { session: "fake" }, Buffer.from(encode(null)));
  // Task 1 never ends, so task 2 waits in the worker, not started.
  const inputs = [{ op: "hang" }, 5].map((v) => Buffer.from(encode(v)));
  await to(Kind.Tasks, { seq: [1, 2], len: inputs.map((b) => b.length) }, Buffer.concat(inputs));
  await to(Kind.Cancel, { seq: [2] });
  const answer = await box.next(Kind.WorkerResults, "the answer to Cancel");
  t.same([answer.h.seq, [answer.h.st].flat()[0]], [[2], Status.Cancelled], "task 2 is answered with status 5");
  t.equal(decode(answer.body).name, "CancelledError");
  t.equal(box.count(Kind.Ready), 1, "the duplicate Welcome got no second Ready");
  await to(Kind.Reset);
  const again = await box.next(Kind.Hello, "a Hello after Reset");
  t.equal(again.h.pid, worker.pid, "Reset after Welcome: the worker says Hello again");
});

t.test("protocol - zerolb worker on SIGTERM: running tasks finish and are answered, then Bye names the tasks not started", async (t) => {
  const router = new zmq.Router({ linger: 0, mandatory: true });
  t.teardown(() => router.close());
  await router.bind("tcp://127.0.0.1:*");
  const box = inbox(router, true);
  const gate = tmpPath(t, "gate");
  const log = tmpPath(t, "runs");
  const worker = startWorker(t, router.lastEndpoint, { args: ["--concurrency", "1"] });
  const hello = await box.next(Kind.Hello, "the worker's Hello");
  const to = (k, fields, body) => router.send(body === undefined ? [hello.from, header(k, fields)] : [hello.from, header(k, fields), body]);
  await to(Kind.Welcome, { session: "fake" }, Buffer.from(encode({ log }))); // ops.js logs each task it runs
  await box.next(Kind.Ready, "Ready");
  // Task 1 runs until the gate opens; task 2, in the same message, waits behind it.
  const inputs = [{ op: "until", path: gate, value: "finished" }, 5].map((v) => Buffer.from(encode(v)));
  await to(Kind.Tasks, { seq: [1, 2], len: inputs.map((b) => b.length) }, Buffer.concat(inputs));
  await waitFor(() => lineCount(log) === 1, { what: "task 1 to start" });
  process.kill(worker.pid, "SIGTERM");
  await worker.waitForLog(/stopping: 1 running task\(s\) finish, 1 go back/);
  writeFileSync(gate, "");
  const result = await box.next(Kind.WorkerResults, "the running task's result");
  t.same([result.h.seq, [result.h.st].flat()[0], decode(result.body)], [[1], Status.Ok, "finished"], "the running task finished and was answered");
  const bye = await box.next(Kind.Bye, "Bye");
  t.same(bye.h.seq, [2], "Bye names the task it did not start");
  await to(Kind.Reset);
  t.same(await within(worker.exited, 60_000, "the worker's exit"), { code: 0, signal: null }, "and it exits 0 once the Bye is answered");
});
