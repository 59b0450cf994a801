// Garbage on the network: random and malformed frames from DEALER, ROUTER, PUSH and REQ peers at
// the broker's remote endpoint while a map runs, and garbage from a fake broker at a CLI worker.
// Nothing may change a result, and nothing may crash.
import { once } from "node:events";
import { decode, encode } from "@msgpack/msgpack";
import t from "tap";
import * as zmq from "zeromq";
import { alive, collect, createLb, exactlyOnce, range, waitFor } from "./helpers.js";
import { startWorker } from "./remote-helpers.js";

const VERSION = 1;
const Kind = { Hello: 1, Ready: 2, WorkerResults: 3, Bye: 4, Welcome: 10, Tasks: 11, Cancel: 12, Reset: 13, Submit: 20, Withdraw: 21, StatsRequest: 22 };

/** A small seeded PRNG (mulberry32), so a failing run can be replayed with FUZZ_SEED. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Messages a hostile or broken peer might send to the broker's worker endpoint. */
function garbageMaker(random) {
  const int = (n) => Math.floor(random() * n);
  const bytes = (n) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const header = (fields) => Buffer.from(encode(fields));
  const makers = [
    () => Array.from({ length: 1 + int(4) }, () => bytes(int(300))), // random bytes, 1-4 frames
    () => [header({ v: 2, k: Kind.Hello, pid: 1 })], // wrong protocol version
    () => [header({ v: VERSION, k: 99 })], // unknown kind
    () => [header({ v: VERSION, k: Kind.Submit, seq: [int(100)], len: [1] }), Buffer.from([0xc0])], // a caller's kind
    () => [header({ v: VERSION, k: Kind.Tasks, seq: [1], len: [1] }), Buffer.from([0xc0])], // a broker's kind
    () => [header({ v: VERSION, k: Kind.WorkerResults, seq: [int(5000)], st: 0, len: [40] }), bytes(3)], // truncated body
    () => [header({ v: VERSION, k: Kind.WorkerResults, seq: "nope", st: 0, len: [1] }), bytes(1)], // bad column
    () => [header({ v: VERSION, k: Kind.WorkerResults, seq: [-1, 1.5], st: [0, 0], len: [0, 0] })], // bad seqs
    () => [header({ v: VERSION, k: Kind.Ready, credit: -5 })], // bad credit
    () => [header({ v: VERSION }), bytes(10)], // no kind
    () => [header([VERSION, Kind.Hello])], // not a map
    () => [bytes(1).fill(0xc1)], // never-used MessagePack byte
    () => [header({ v: VERSION, k: Kind.Bye, seq: [int(5000)] }), bytes(2), bytes(2), bytes(2)], // too many frames
    () => [Buffer.alloc(0), header({ v: VERSION, k: Kind.Hello })], // empty header frame
  ];
  return () => makers[int(makers.length)]();
}

t.test("endpoint - thousands of garbage frames during a map change nothing in its results", async (t) => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
  t.comment(`FUZZ_SEED=${seed}`);
  const random = prng(seed);
  const garbage = garbageMaker(random);
  const lb = createLb(t, { workers: 2, endpoint: "tcp://127.0.0.1:0", maxMessageSize: 4 * 1024 * 1024 });
  await lb.ready;
  const broker = lb.pids.broker;
  const endpoint = lb.endpoint;
  const remote = startWorker(t, endpoint);
  await remote.waitForLog(/joined/);

  const sockets = [];
  const open = (socket, connect = (s) => s.connect(endpoint)) => {
    sockets.push(socket);
    connect(socket);
    return socket;
  };
  t.teardown(() => sockets.forEach((s) => s.close()));
  // sendTimeout 0: a peer the broker disconnects (a REQ socket drops the connection when an
  // unsolicited Reset arrives without its envelope) makes a send fail with EAGAIN, not wait.
  const dealers = range(3, () => open(new zmq.Dealer({ linger: 0, sendTimeout: 0 })));
  const router = open(new zmq.Router({ linger: 0, sendTimeout: 0 }), (s) => s.connect(endpoint, { routingId: "broker" }));
  const push = open(new zmq.Push({ linger: 0, sendTimeout: 0 }));
  const reqs = range(2, () => open(new zmq.Request({ linger: 0, sendTimeout: 0, relaxed: true, correlate: false })));
  // A peer that joins properly with no credit (so it is never sent a task), then claims results
  // of tasks it never held: each is refused (not held) or a duplicate, never a result.
  const impostor = open(new zmq.Dealer({ linger: 0, routingId: "impostor" }));
  await impostor.send([encode({ v: VERSION, k: Kind.Hello, pid: 4242, concurrency: 1 })]);
  let answer;
  do answer = decode((await impostor.receive())[0]);
  while (answer.k === Kind.Reset); // the broker greets every new connection with a Reset
  t.equal(answer.k, Kind.Welcome, "the impostor is welcomed like any worker");
  await impostor.send([encode({ v: VERSION, k: Kind.Ready, credit: 0 })]);

  const n = 4000;
  const mapped = collect(lb.map(range(n, (i) => ({ op: "sleep", ms: 1, value: i })), { ordered: false }));
  let sent = 0;
  const fuzz = async () => {
    for (let i = 0; i < 4000; i++) {
      const frames = garbage();
      const which = i % 8;
      try {
        if (which < 3) await dealers[which].send(frames);
        else if (which === 3) await router.send(["broker", ...frames]);
        else if (which === 4) await push.send(frames).catch(() => {}); // PUSH cannot talk to a ROUTER: its handshake fails
        else if (which === 5) await reqs[i % 2].send(frames);
        else {
          const seqs = range(1 + (i % 50), (k) => (i * 7 + k) % n);
          const header = encode({ v: VERSION, k: Kind.WorkerResults, seq: seqs, st: 0, len: seqs.map(() => 1) });
          await impostor.send([header, Buffer.alloc(seqs.length, 0xc3)]); // "true" for each: never a valid result here
        }
        sent++;
      } catch (err) {
        if (err.code !== "EAGAIN") throw err;
      }
      if (i % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    // Oversized: a header frame past the broker's header limit, and a message past maxMessageSize
    // (its sender is disconnected by ZeroMQ).
    await dealers[0].send([Buffer.from(encode({ v: VERSION, k: Kind.Hello, name: "x".repeat(2 * 1024 * 1024) }))]);
    await dealers[1].send([Buffer.alloc(5 * 1024 * 1024, 7)]);
  };
  const [results] = await Promise.all([mapped, fuzz()]);
  t.ok(sent >= 3000, `${sent} garbage messages sent`);
  exactlyOnce(t, results, range(n));
  t.ok(alive(broker), "the broker survived");
  t.equal(lb.pids.broker, broker, "and was never restarted");
  t.equal(lb.stats().brokerRestarts, 0);
  t.equal(lb.stats().workerRestarts, 0, "no local worker died");
  t.ok(alive(remote.pid), "the real remote worker survived");
  // A last map proves the broker still works and brings fresh counts.
  t.same(await collect(lb.map(range(10))), range(10, (i) => i * 2));
  await waitFor(() => lb.stats().malformedDropped > 0, { what: "malformedDropped > 0" });
  const stats = lb.stats();
  t.ok(stats.malformedDropped > 100, `malformed messages dropped and counted: ${stats.malformedDropped}`);
  t.ok(stats.duplicatesDropped + stats.malformedDropped > 0);
  t.equal(stats.failed, 0);
  const impostorInfo = stats.workers.find((w) => w.pid === 4242);
  t.ok(impostorInfo, "the impostor is listed among the workers");
  t.equal(impostorInfo?.done, 0, "the impostor is credited with nothing");
});

t.test("zerolb worker - garbage from a fake broker never crashes the worker; it still serves real tasks", async (t) => {
  const random = prng(Number(process.env.FUZZ_SEED ?? 7));
  const garbage = garbageMaker(random);
  const broker = new zmq.Router({ linger: 0, mandatory: true });
  t.teardown(() => broker.close());
  await broker.bind("tcp://127.0.0.1:*");
  const worker = startWorker(t, broker.lastEndpoint);
  const next = async (kind) => {
    for (;;) {
      const [id, header, body] = await broker.receive();
      const h = decode(header);
      if (h.k === kind) return { id, h, body };
    }
  };
  const { id } = await next(Kind.Hello);
  // Garbage before the Welcome, then a Welcome, then more garbage, then real tasks.
  for (let i = 0; i < 500; i++) await broker.send([id, ...garbage()]);
  await broker.send([id, encode({ v: VERSION, k: Kind.Welcome, session: "fake" }), encode(null)]);
  await next(Kind.Ready);
  for (let i = 0; i < 1000; i++) await broker.send([id, ...garbage()]);
  await broker.send([id, encode({ v: VERSION, k: Kind.Tasks, seq: [100, 101, 102], len: [1, 1, 1] }), Buffer.from([1, 2, 3])]);
  // (Some garbage was well-formed Tasks for seq 1: a worker cannot tell; those results are ignored here.)
  const got = new Map();
  while (got.size < 3) {
    const { h, body } = await next(Kind.WorkerResults);
    let offset = 0;
    h.seq.forEach((seq, i) => {
      if (seq >= 100) got.set(seq, body[offset]);
      offset += h.len[i];
    });
  }
  t.same([...got.entries()].sort(), [[100, 2], [101, 4], [102, 6]], "the worker doubled 1, 2 and 3 after all that garbage");
  t.ok(alive(worker.pid), "the worker is alive");
  process.kill(worker.pid, "SIGTERM");
  const bye = await next(Kind.Bye);
  t.same(bye.h.seq, [], "its Bye hands back nothing (it held nothing)");
  await broker.send([bye.id, encode({ v: VERSION, k: Kind.Reset })]);
  const [code] = await once(worker.child, "exit");
  t.equal(code, 0, "and it exits cleanly on SIGTERM");
});
