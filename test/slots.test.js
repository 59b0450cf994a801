// Slots: the worker's concurrency limit (pure logic; the worker tests run it with real handlers).
import t from "tap";
import { Slots } from "../dist/worker/slots.js";

/** Items are { async }: an async one holds a slot until the test releases it. */
function harness(limit) {
  const started = [];
  const slots = new Slots(limit, (item) => {
    started.push(item.name);
    return item.async;
  });
  return { slots, started };
}

t.test("Slots - at most `limit` async items hold a slot; the rest wait in arrival order", async (t) => {
  const { slots, started } = harness(2);
  for (const name of ["a", "b", "c", "d"]) slots.add({ name, async: true });
  t.same(started, ["a", "b"]);
  t.equal(slots.busy, 2);
  t.equal(slots.waiting, 2);
  slots.release();
  t.same(started, ["a", "b", "c"], "a released slot starts the next waiting item at once");
  slots.release();
  slots.release();
  t.same(started, ["a", "b", "c", "d"]);
  t.equal(slots.busy, 1);
  t.equal(slots.waiting, 0);
});

t.test("Slots - items that end at once take no slot, and a release starts as many as fit", async (t) => {
  const { slots, started } = harness(1);
  slots.add({ name: "sync1", async: false });
  t.equal(slots.busy, 0, "a synchronous item leaves its slot free");
  slots.add({ name: "a", async: true });
  slots.add({ name: "sync2", async: false });
  slots.add({ name: "sync3", async: false });
  slots.add({ name: "b", async: true });
  slots.add({ name: "c", async: true });
  t.same(started, ["sync1", "a"], "behind a busy slot, even synchronous items wait their turn");
  slots.release();
  t.same(started, ["sync1", "a", "sync2", "sync3", "b"], "one release runs the synchronous items and the next async one");
  t.equal(slots.waiting, 1);
});

t.test("Slots - onIdle() waits for the last slot; clear() drops the waiting items only", async (t) => {
  const { slots, started } = harness(1);
  await slots.onIdle();
  t.pass("idle at once when nothing runs");
  slots.add({ name: "a", async: true });
  slots.add({ name: "b", async: true });
  let idle = false;
  const done = slots.onIdle().then(() => (idle = true));
  slots.clear();
  t.equal(slots.waiting, 0);
  t.equal(slots.busy, 1, "the running item keeps its slot");
  await Promise.resolve();
  t.equal(idle, false, "not idle while an item holds a slot");
  slots.release();
  await done;
  t.equal(idle, true);
  t.same(started, ["a"], "the cleared item never started");
});
