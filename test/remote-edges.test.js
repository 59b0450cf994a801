// The remote endpoint at its edges: results too large for it, peers that never speak ZMTP.
import { connect } from "node:net";
import t from "tap";
import { TaskError } from "../dist/index.js";
import { alive, createLb, waitFor, within } from "./helpers.js";
import { startWorker } from "./remote-helpers.js";

t.test("a remote worker's result larger than maxMessageSize fails that task; the worker lives on", async (t) => {
  const lb = createLb(t, { workers: 0, endpoint: "tcp://127.0.0.1:0", maxMessageSize: 64 * 1024 });
  await lb.ready;
  const worker = startWorker(t, lb.endpoint);
  await worker.waitForLog(/joined/);
  const items = [1, { op: "repeat", text: "x", times: 200_000 }, 2];
  const rows = [];
  for await (const row of lb.map(items, { settled: true })) rows.push(row);
  t.same(rows.map((r) => r.ok), [true, false, true], "only the large result failed");
  t.ok(rows[1].error instanceof TaskError, "a TaskError");
  t.match(rows[1].error.cause?.message, /more than the broker accepts in one message \(maxMessageSize 65536\)/, "naming the sizes");
  t.equal(lb.stats().retried, 0, "the worker was never taken for lost");
  t.ok(alive(worker.pid), "the worker runs on");
  t.same(await within((async () => { const out = []; for await (const x of lb.map([5, 6])) out.push(x); return out; })(), 20_000, "another map"), [10, 12]);
});

t.test("a TCP peer that never completes a ZMTP handshake is disconnected and counted", async (t) => {
  const lb = createLb(t, { workers: 1, endpoint: "tcp://127.0.0.1:0" });
  await lb.ready;
  const port = Number(lb.endpoint.split(":").pop());
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => {});
  socket.resume(); // read (and drop) the greeting, so the end of the stream is seen
  t.teardown(() => socket.destroy());
  const closed = new Promise((resolve) => socket.once("close", resolve));
  await within(closed, 30_000, "the silent connection to be closed by the broker");
  await waitFor(() => lb.stats().refusedHandshakes >= 1, { what: "the refusal to be counted" });
  t.pass("closed and counted");
});
