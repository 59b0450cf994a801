// close() at any moment: it stops maps taking items, a forced close after a graceful one does not
// wait, and a broker that dies while close() waits does not make it wait for nothing.
import t from "tap";
import { ClosedError } from "../dist/index.js";
import { createLb, within } from "./helpers.js";

t.test(".close() - a running map takes no more items; its tasks out finish; then it throws ClosedError", async (t) => {
  const lb = createLb(t, { workers: 2 });
  await lb.ready;
  let pulled = 0;
  function* endless() {
    for (;;) {
      pulled++;
      yield { op: "sleep", ms: 2, value: pulled };
    }
  }
  let pulledAtClose = -1;
  let closing;
  let thrown;
  let after = 0;
  try {
    for await (const r of lb.map(endless(), { ordered: false })) {
      if (closing) after++;
      else if (r >= 100) {
        closing = lb.close();
        pulledAtClose = pulled;
      }
    }
  } catch (err) {
    thrown = err;
  }
  await within(closing, 30_000, "close()");
  t.ok(thrown instanceof ClosedError, "the map ends with a ClosedError");
  t.equal(pulled, pulledAtClose, "no item was taken after close()");
  t.ok(after >= 0, `results of tasks already out were still yielded (${after})`);
});

t.test(".close({ force: true }) during a graceful close() stops waiting for a task that never ends", async (t) => {
  const lb = createLb(t, { workers: 1, closeTimeout: 120_000 });
  await lb.ready;
  await lb.send({ op: "hang" });
  const graceful = lb.close();
  const forced = lb.close({ force: true });
  t.equal(forced, graceful, "the same close");
  await within(forced, 20_000, "the forced close");
  const r = await lb.receive().catch((err) => err);
  t.equal(r.ok, false, "the task did not finish");
  t.equal(r.error.code, "ERR_ZEROLB_CANCELLED");
});

t.test(".close() - a broker that dies while close() waits is restarted: its tasks still finish, and close() does not wait out closeTimeout", async (t) => {
  const lb = createLb(t, { workers: 1, closeTimeout: 120_000 });
  await lb.ready;
  const id = await lb.send({ op: "sleep", ms: 300, value: "finished" });
  const closing = lb.close();
  process.kill(lb.pids.broker, "SIGKILL");
  await within(closing, 60_000, "close() after the broker died");
  t.same(await lb.receive(), { id, ok: true, value: "finished" }, "the task ran on the new broker's worker and finished");
});

t.test(".close() - a task sent just after the broker died still runs before close() returns", async (t) => {
  const lb = createLb(t, { workers: 1, closeTimeout: 120_000 });
  await lb.ready;
  process.kill(lb.pids.broker, "SIGKILL");
  const id = await lb.send({ op: "sleep", ms: 10, value: "ran" });
  await within(lb.close(), 60_000, "close()");
  t.same(await lb.receive(), { id, ok: true, value: "ran" });
});
