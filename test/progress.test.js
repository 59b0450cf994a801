// lb.map({ onProgress }): counts at most every 100 ms while the map runs, and once more at the end.
import t from "tap";
import { collect, range, sharedLb } from "./helpers.js";

const shared = sharedLb(t, { workers: 2 });

t.test(".map({ onProgress }) - called at a bounded rate, then once more with final counts", async (t) => {
  const lb = shared();
  const calls = [];
  const items = range(60, (i) => (i === 7 ? { op: "throw" } : { op: "sleep", ms: 10, value: i }));
  const rows = await collect(lb.map(items, { settled: true, onProgress: (p) => calls.push(p) }));
  t.equal(rows.length, 60);
  const last = calls.at(-1);
  t.same({ done: last.done, failed: last.failed, pulled: last.pulled, pending: last.pending, final: last.final }, { done: 59, failed: 1, pulled: 60, pending: 0, final: true });
  t.equal(calls.filter((c) => c.final).length, 1, "one final call");
  for (let i = 1; i < calls.length - 1; i++) t.ok(calls[i].elapsedMs - calls[i - 1].elapsedMs >= 100, "at most one call per 100 ms");
  // The rate bound in one number: however long the map took, no more calls than 100 ms periods (+ the final one).
  t.ok(calls.length <= Math.floor(last.elapsedMs / 100) + 2, `${calls.length} calls in ${last.elapsedMs.toFixed(0)} ms`);
});

t.test(".map({ onProgress }) - a throwing callback does not break the map", async (t) => {
  const lb = shared();
  const out = await collect(lb.map([1, 2, 3], { onProgress: () => { throw new Error("ignored"); } }));
  t.same(out, [2, 4, 6]);
});
