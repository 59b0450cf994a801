// Values that MessagePack cannot carry fail their own task and nothing else.
import t from "tap";
import { TaskError } from "../dist/index.js";
import { collect, sharedLb } from "./helpers.js";

const shared = sharedLb(t, { workers: 2 });

t.test(".map() - an unencodable input fails that item alone", async (t) => {
  const lb = shared();
  const rows = await collect(lb.map([1, () => "no", 3, new Map([["k", 1]]), new Set([1]), { nested: { fn() {} } }, 2n ** 80n, 7], { settled: true }));
  t.same(rows.map((r) => r.index), [0, 1, 2, 3, 4, 5, 6, 7]);
  t.same(rows.map((r) => r.ok), [true, false, true, false, false, false, false, true]);
  t.same(rows.filter((r) => r.ok).map((r) => r.value), [2, 6, 14]);
  for (const r of rows.filter((row) => !row.ok)) {
    t.ok(r.error instanceof TaskError, `item ${r.index}: a TaskError`);
    t.equal(r.error.index, r.index);
    t.equal(r.error.id, r.id);
    t.match(r.error.message, new RegExp(`item ${r.index} cannot be sent`), `item ${r.index}: the message names the item`);
  }
  t.match(rows[3].error.message, /Map cannot be sent/, "the message names the problem");
  t.match(rows[4].error.message, /Set cannot be sent/);
  t.match(rows[6].error.message, /does not fit in 64 bits/);
});

t.test(".map() - an unencodable input without settled throws a TaskError for that item", async (t) => {
  const lb = shared();
  const seen = [];
  let caught;
  try {
    for await (const v of lb.map([1, 2, new Map(), 4])) seen.push(v);
  } catch (err) {
    caught = err;
  }
  t.same(seen, [2, 4]);
  t.ok(caught instanceof TaskError);
  t.equal(caught.index, 2);
  t.match(caught.message, /Map cannot be sent/);
});

t.test(".map() - an unencodable result fails that task alone", async (t) => {
  const lb = shared();
  const rows = await collect(lb.map([{ op: "unencodable" }, 2, { op: "unencodable" }, 4], { settled: true }));
  t.same(rows.map((r) => r.ok), [false, true, false, true]);
  t.same([rows[1].value, rows[3].value], [4, 8]);
  const err = rows[0].error;
  t.ok(err instanceof TaskError, "a TaskError");
  t.equal(err.index, 0);
  t.match(err.message, /cannot be sent/, "the message says the result cannot be sent");
  t.equal(err.cause.name, "TypeError");
  // The worker that produced it goes on working.
  t.same(await collect(lb.map([5, 6])), [10, 12]);
});
