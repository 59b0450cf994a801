// stats() is current: right after ready, while a long task runs, and for remote workers that come and go.
import t from "tap";
import { Dealer } from "zeromq";
import { encode } from "@msgpack/msgpack";
import { createLb, waitFor, within } from "./helpers.js";

t.test(".stats() - lists the local workers right after ready", async (t) => {
  const lb = createLb(t, { workers: 2 });
  await lb.ready;
  t.ok(lb.stats().workers.length >= 1, "at least the worker that made it ready");
});

t.test(".stats() - inFlight counts a long task while it runs, with no result flowing", async (t) => {
  const lb = createLb(t, { workers: 1 });
  await lb.ready;
  const id = await lb.send({ op: "sleep", ms: 3000, value: "done" });
  await waitFor(() => lb.stats().inFlight === 1, { timeout: 2500, what: "inFlight to show the running task" });
  t.equal(lb.stats().workers.reduce((n, w) => n + w.inFlight, 0), 1, "and its worker holds it");
  t.equal((await within(lb.receive(), 20_000, "the result")).id, id);
  await waitFor(() => lb.stats().inFlight === 0, { what: "inFlight back to 0" });
});

t.test(".stats() - a remote worker without a routing id is listed printably, and dropped when it leaves", async (t) => {
  const lb = createLb(t, { workers: 1, endpoint: "tcp://127.0.0.1:0" });
  await lb.ready;
  const dealer = new Dealer({ linger: 0 });
  t.teardown(() => dealer.close());
  dealer.connect(lb.endpoint);
  await dealer.send(encode({ v: 1, k: 1, pid: 4242, concurrency: 1, name: "fake" }));
  // Read until Welcome, then say Ready without credit.
  for (;;) {
    const [header] = await within(dealer.receive(), 20_000, "Welcome");
    const h = (await import("@msgpack/msgpack")).decode(header);
    if (h.k === 10) break;
  }
  await dealer.send(encode({ v: 1, k: 2, credit: 0 }));
  const remote = await waitFor(() => lb.stats().workers.find((w) => !w.local && w.pid === 4242), { what: "the fake worker in stats" });
  t.match(remote.id, /^r:[\x21-\x7e]+$/, `a printable id (${remote.id})`);
  t.equal(remote.name, "fake");
  dealer.close();
  await waitFor(() => !lb.stats().workers.some((w) => w.pid === 4242), { what: "the worker to leave the list" });
  t.pass("gone");
});
