// The small utilities every process shares: written once, tested here without processes.
import t from "tap";
import { BoundedMap } from "../dist/shared/bounded-map.js";
import { Spares } from "../dist/shared/spares.js";
import { Waiters } from "../dist/shared/waiters.js";

t.test("BoundedMap - forgets the oldest entry past its capacity, and says which", async (t) => {
  const evicted = [];
  const m = new BoundedMap(2, (k, v) => evicted.push([k, v]));
  m.set("a", 1).set("b", 2).set("a", 10);
  t.same([...m.keys()], ["a", "b"], "setting a key again keeps its place");
  m.set("c", 3);
  t.same([...m.entries()], [["b", 2], ["c", 3]]);
  t.same(evicted, [["a", 10]]);
  m.touch("b", 20).set("d", 4);
  t.same([...m.keys()], ["b", "d"], "touch() makes an entry the newest");
});

t.test("Spares - keeps at most its capacity, hands back the last given", async (t) => {
  const s = new Spares(2);
  t.equal(s.take(), undefined);
  t.ok(s.give("x"));
  t.ok(s.give("y"));
  t.equal(s.hasRoom, false);
  t.notOk(s.give("z"), "dropped when full");
  t.equal(s.take(), "y");
  t.equal(s.take(), "x");
});

t.test("Waiters - until() resolves at once when true, else at the next wake()", async (t) => {
  const w = new Waiters();
  await w.until(true);
  let woken = 0;
  const a = w.until(false).then(() => woken++);
  const b = w.until(false).then(() => woken++);
  t.equal(w.waiting, true);
  await Promise.resolve();
  t.equal(woken, 0);
  w.wake();
  await Promise.all([a, b]);
  t.equal(woken, 2);
  t.equal(w.waiting, false);
});
