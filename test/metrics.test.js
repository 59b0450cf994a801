// lb.metrics(): stats() in the Prometheus text format, parsed back by a small parser of the format
// (metrics-helpers.js) and matched against stats() number by number.
import t from "tap";
import { collect, createLb, range, waitFor } from "./helpers.js";
import { escapeLabel } from "../dist/caller/metrics.js";
import { matchStats } from "./metrics-helpers.js";

t.test("lb.metrics() - every count of stats() in the Prometheus text format, prefixed zerolb_", async (t) => {
  const lb = createLb(t, { workers: 2 });
  await lb.ready;
  await waitFor(() => lb.stats().workers.length === 2, { what: "stats() to list both workers" });
  const rows = await collect(lb.map([...range(20), { op: "throw" }, { op: "throw" }], { settled: true }));
  t.equal(rows.filter((r) => !r.ok).length, 2);
  // Both read in one turn: the same snapshot.
  const stats = lb.stats();
  const text = lb.metrics();
  t.equal(stats.done, 20);
  t.equal(stats.failed, 2);
  const metrics = matchStats(t, text, stats);
  const done = metrics.get("zerolb_worker_tasks_done_total").samples.reduce((n, s) => n + s.value, 0);
  t.equal(done, 22, "the workers' done add up to the tasks they finished (failures included)");
});

t.test("lb.metrics() - label values are escaped as the format requires", async (t) => {
  t.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
});
