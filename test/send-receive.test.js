// lb.send() / lb.receive(): ids, outcomes, backpressure, caller-chosen ids.
import { writeFileSync } from "node:fs";
import t from "tap";
import { ClosedError, TaskError } from "../dist/index.js";
import { createLb, lineCount, range, sharedLb, tmpPath, turns, waitFor } from "./helpers.js";

// One LoadBalancer for the tests that receive every result they send.
const shared = sharedLb(t, { workers: 2 });

t.test(".send() - the ids it returns are the ids receive() reports", async (t) => {
  const lb = shared();
  await lb.ready;
  const sent = new Map();
  for (const x of range(50)) sent.set(await lb.send(x), x);
  t.equal(sent.size, 50, "50 distinct ids");
  for (const id of sent.keys()) t.type(id, "string");
  const got = new Map();
  for (let i = 0; i < 50; i++) {
    const r = await lb.receive();
    t.same(Object.keys(r).sort(), ["id", "ok", "value"]);
    t.equal(r.ok, true);
    got.set(r.id, r.value);
  }
  t.same([...got.keys()].sort(), [...sent.keys()].sort(), "every id sent comes back once");
  for (const [id, x] of sent) if (got.get(id) !== x * 2) t.fail(`task ${id} (${x}) gave ${got.get(id)}`);
});

t.test(".receive() - gives { id, ok: false, error } with a TaskError for a failed task", async (t) => {
  const lb = shared();
  await lb.ready;
  const id = await lb.send({ op: "throw", message: "nope" });
  const r = await lb.receive();
  t.same(Object.keys(r).sort(), ["error", "id", "ok"]);
  t.equal(r.id, id);
  t.equal(r.ok, false);
  t.ok(r.error instanceof TaskError, "a TaskError");
  t.equal(r.error.code, "ERR_ZEROLB_TASK_FAILED");
  t.equal(r.error.id, id);
  t.equal(r.error.index, undefined, "send() tasks have no index");
  t.match(r.error.message, /nope/);
  t.equal(r.error.cause.name, "RangeError");
  t.equal(r.error.cause.code, "E_BOOM");
});

t.test(".receive() - outcomes come in completion order", async (t) => {
  const lb = createLb(t, { workers: 1, concurrency: 3 });
  await lb.ready;
  const slow = await lb.send({ op: "sleep", ms: 300, value: "slow" });
  const medium = await lb.send({ op: "sleep", ms: 150, value: "medium" });
  const fast = await lb.send({ op: "sleep", ms: 5, value: "fast" });
  const order = [(await lb.receive()).id, (await lb.receive()).id, (await lb.receive()).id];
  t.same(order, [fast, medium, slow]);
});

t.test(".send() - waits while highWaterMark tasks are outstanding", async (t) => {
  const lb = createLb(t, { highWaterMark: 2 });
  await lb.ready;
  await lb.send(1);
  await lb.send(2);
  let thirdSent = false;
  const third = lb.send(3).then((id) => {
    thirdSent = true;
    return id;
  });
  // Both outstanding tasks finish, and still the third send waits: they have not been received.
  await waitFor(() => lb.stats().done === 2, { what: "the first two tasks to finish" });
  await turns(20);
  t.equal(thirdSent, false, "the third send() is pending while two results are not received");
  const first = await lb.receive();
  t.equal(first.ok, true);
  const thirdId = await third;
  t.ok(thirdSent, "receive() made room for the third send()");
  const rest = [await lb.receive(), await lb.receive()];
  t.ok(rest.some((r) => r.id === thirdId && r.value === 6), "the third task ran");
  t.same([first, ...rest].map((r) => r.value).sort(), [2, 4, 6]);
});

t.test(".send() - waits while the unfinished tasks' inputs pass highWaterMarkBytes, until an outcome arrives", async (t) => {
  const lb = createLb(t, { workers: 1, highWaterMarkBytes: 2500 });
  await lb.ready;
  const kb = "x".repeat(1000);
  // Each task runs until the gate file exists: none finishes before the test says so.
  const gate = tmpPath(t, "gate");
  const held = (value) => ({ op: "until", path: gate, value });
  await lb.send(held(`a${kb}`));
  await lb.send(held(`b${kb}`));
  await lb.send(held(`c${kb}`)); // about 2,100 bytes out: below the mark, so this one goes
  let fourthSent = false;
  const fourth = lb.send(held("d")).then(() => (fourthSent = true));
  await turns(20);
  t.equal(fourthSent, false, "about 3,200 bytes of inputs are unfinished: the fourth send() waits");
  t.equal(lb.stats().done, 0, "and no outcome has arrived");
  writeFileSync(gate, "");
  // Results not yet received count too (they are as large as the inputs here): only a receive()
  // frees room, not the tasks' ending.
  const got = [await lb.receive()];
  await fourth;
  t.ok(fourthSent, "it went once an outcome was received");
  got.push(await lb.receive(), await lb.receive(), await lb.receive());
  t.same(got.map((r) => r.value[0]).sort(), ["a", "b", "c", "d"]);
});

t.test(".send() - a caller-chosen id sent twice runs once and yields one result", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { workerData: { log } });
  await lb.ready;
  const a = lb.send({ op: "sleep", ms: 50, value: "once" }, { id: "job-1" });
  const b = lb.send({ op: "sleep", ms: 50, value: "twice?" }, { id: "job-1" });
  t.same(await Promise.all([a, b]), ["job-1", "job-1"], "both sends resolve to the id");
  const r = await lb.receive();
  t.same(r, { id: "job-1", ok: true, value: "once" });
  // Once completed and received, the same id is still not run again.
  t.equal(await lb.send({ op: "sleep", ms: 1, value: "thrice?" }, { id: "job-1" }), "job-1");
  const other = await lb.send(5, { id: "job-2" });
  t.same(await lb.receive(), { id: other, ok: true, value: 10 }, "the next result is another task's, not job-1 again");
  await lb.close();
  // Had a second job-1 result been kept, receive() would hand it out; it has nothing left.
  await t.rejects(lb.receive(), ClosedError, "no second job-1 result");
  t.equal(lineCount(log), 2, "job-1 ran once, job-2 once");
});

t.test(".send() - an unencodable value rejects that send alone", async (t) => {
  const lb = shared();
  await lb.ready;
  await t.rejects(lb.send(new Map([[1, 2]])), /Map cannot be sent/);
  await t.rejects(lb.send({ f() {} }), /cannot|Unrecognized/);
  const id = await lb.send(21);
  t.same(await lb.receive(), { id, ok: true, value: 42 });
});

t.test(".send() - invalid options throw", async (t) => {
  const lb = shared();
  await lb.ready;
  await t.rejects(lb.send(1, { id: "" }), TypeError);
  await t.rejects(lb.send(1, { id: 7 }), TypeError);
  await t.rejects(lb.send(1, { timeout: -1 }), TypeError);
  await t.rejects(lb.send(1, { fn: 3 }), TypeError);
});
