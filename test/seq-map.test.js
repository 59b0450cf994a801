// SeqMap: the per-task records keyed by seq, in a ring instead of a hash table.
import t from "tap";
import { SeqMap } from "../dist/shared/seq-map.js";
import { ColumnBuilder, column } from "../dist/wire/columns.js";

t.test("SeqMap - a moving window of seqs stays in the ring without growing", async (t) => {
  const m = new SeqMap(8);
  let missed = 0;
  for (let seq = 0; seq < 10_000; seq++) {
    m.set(seq, `v${seq}`);
    if (seq >= 4 && !m.delete(seq - 4)) missed++;
  }
  t.equal(missed, 0, "every finished seq was found and deleted");
  t.equal(m.size, 4);
  t.equal(m.capacity, 8, "four in flight fit in eight slots");
  t.equal(m.spilled, 0);
  t.same(m.values(), ["v9996", "v9997", "v9998", "v9999"]);
  t.same(m.keys(), [9996, 9997, 9998, 9999]);
  t.equal(m.get(9995), undefined);
  t.equal(m.has(9999), true);
  t.equal(m.has(9995), false);
  t.equal(m.delete(9995), false);
});

t.test("SeqMap - the ring doubles when a window fills half of it", async (t) => {
  const m = new SeqMap(4, 64);
  for (let seq = 0; seq < 40; seq++) m.set(seq, seq);
  t.equal(m.size, 40);
  t.equal(m.capacity, 64);
  t.equal(m.spilled, 0);
  t.same(Array.from({ length: 40 }, (_, seq) => m.get(seq)), Array.from({ length: 40 }, (_, seq) => seq));
});

t.test("SeqMap - a straggler far behind the window moves out of the ring and is still found", async (t) => {
  const m = new SeqMap(8, 8);
  m.set(3, "old");
  for (let seq = 4; seq < 1_000; seq++) {
    m.set(seq, seq);
    if (seq >= 6) m.delete(seq - 2);
  }
  t.equal(m.spilled, 1, "seq 3 was pushed out by a newer seq in its slot");
  t.equal(m.capacity, 8, "one straggler does not grow the ring");
  t.equal(m.get(3), "old");
  t.same(m.keys(), [3, 998, 999]);
  m.set(3, "updated");
  t.equal(m.get(3), "updated");
  t.equal(m.spilled, 1, "updating a spilled key keeps it in one place");
  t.equal(m.delete(3), true);
  t.equal(m.size, 2);
  m.clear();
  t.equal(m.size, 0);
  t.equal(m.get(999), undefined);
});

t.test("SeqMap - agrees with a Map under random set, delete and get", async (t) => {
  let state = 42;
  const rand = (n) => ((state = (state * 1103515245 + 12345) % 2 ** 31) % n);
  const m = new SeqMap(4, 32);
  const model = new Map();
  let next = 0;
  let mismatches = 0;
  for (let step = 0; step < 50_000; step++) {
    const op = rand(10);
    if (op < 4) {
      m.set(next, step);
      model.set(next, step);
      next++;
    } else if (op < 7 && model.size > 0) {
      // mostly the oldest keys finish first, sometimes a random one
      const keys = [...model.keys()];
      const key = rand(4) === 0 ? keys[rand(keys.length)] : keys[0];
      if (m.delete(key) !== model.delete(key)) mismatches++;
    } else {
      const key = rand(next + 10);
      if (m.get(key) !== model.get(key) || m.has(key) !== model.has(key)) mismatches++;
    }
    if (m.size !== model.size) mismatches++;
  }
  t.equal(mismatches, 0);
  t.same(m.keys(), [...model.keys()].sort((a, b) => a - b));
  t.ok(m.spilled > 0, "the run exercised the spill");
});

t.test("ColumnBuilder - gives what column() gives, without an array for a constant column", async (t) => {
  for (const values of [[], [1], [1, 1, 1], [1, 1, 2], [2, 1, 1], ["a", "b"], [0, 0, 0, 0, 5]]) {
    const b = new ColumnBuilder();
    for (const v of values) b.push(v);
    t.same(b.take(), column(values), JSON.stringify(values));
  }
});
