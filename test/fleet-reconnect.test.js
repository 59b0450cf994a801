// A remote worker with a fixed routing id (its host name, as a Python or Go worker would set)
// reconnects while the broker still holds its old connection (docs/protocol.md, "Heartbeats and
// dead peers": ROUTER_HANDOVER): it is welcomed and served at once. Its old connection stays open
// and keeps answering heartbeats (libzmq does that by itself), so it never times out: were the new
// connection ignored until then, this test would hang.
import t from "tap";
import * as zmq from "zeromq";
import { createLb } from "./helpers.js";
import { bodyOf, header, inbox, Kind, Status, tasksOf } from "./wire-peer.js";

function dealer(t, endpoint, routingId) {
  const socket = new zmq.Dealer({ linger: 0, routingId });
  t.teardown(() => socket.close());
  socket.connect(endpoint);
  return { socket, box: inbox(socket), send: (k, fields, body) => socket.send(body ? [header(k, fields), body] : [header(k, fields)]) };
}

t.test("remote worker - reconnecting under the same routing id takes over at once: welcomed, and its task comes back without a death", async (t) => {
  const lb = createLb(t, { workers: 0, endpoint: "tcp://127.0.0.1:0", heartbeatInterval: 1000, heartbeatLiveness: 30 });
  await lb.ready;
  const routingId = "fleet-host-7";
  const old = dealer(t, lb.endpoint, routingId);
  await old.send(Kind.Hello, { pid: 7, concurrency: 1, name: "host-7" });
  await old.box.next(Kind.Welcome, "Welcome on the first connection");
  await old.send(Kind.Ready, { credit: 1 });
  const id = await lb.send("held over a partition");
  const [task] = tasksOf(await old.box.next(Kind.Tasks, "the task on the first connection"));
  t.same([task.input, task.att], ["held over a partition", 1]);

  // The first connection goes silent (it never answers) but stays open; the worker connects again
  // under the same id, as after a network partition that only it noticed.
  const fresh = dealer(t, lb.endpoint, routingId);
  await fresh.box.next(Kind.Reset, "the Reset that greets the new connection");
  await fresh.send(Kind.Hello, { pid: 7, concurrency: 1, name: "host-7" });
  await fresh.box.next(Kind.Welcome, "Welcome on the new connection");
  await fresh.send(Kind.Ready, { credit: 1 });
  const [again] = tasksOf(await fresh.box.next(Kind.Tasks, "the task again, on the new connection"));
  t.same([again.seq, again.input, again.att], [task.seq, "held over a partition", 1], "the same task, still attempt 1 (no death counted)");
  const { len, body } = bodyOf(["served"]);
  await fresh.send(Kind.WorkerResults, { seq: [again.seq], st: [Status.Ok], len, credit: 1 }, body);
  t.same(await lb.receive(), { id, ok: true, value: "served" }, "its result reaches the caller");
  const s = lb.stats();
  t.equal(s.retried, 0, "nothing counted as retried");
  t.same(s.workers.map((w) => [w.id, w.name]), [[`r:${routingId}`, "host-7"]], "listed once, under its routing id (r: for remote)");
  t.equal(old.box.count(Kind.Tasks), 1, "nothing more went to the old connection");
});
