// hedge: true (CONTRACT, "Fleet of remote workers"): at a map's tail, a straggler is started again
// on an idle worker; the first result wins, the other run is cancelled, the caller sees one result.
// The straggler here never ends by itself (its first run waits for its signal), so the map can
// only finish through a hedge: no timing is assumed.
import { readFileSync } from "node:fs";
import t from "tap";
import { collect, createLb, fixture, range, tmpPath, waitFor } from "./helpers.js";

const items = (t, n) => {
  const straggle = { lock: tmpPath(t, "lock"), log: tmpPath(t, "log") };
  return { straggle, items: range(n, (i) => (i === 0 ? { straggle } : { ms: 10 })) };
};

for (const where of ["option of the LoadBalancer", "option of map()"]) {
  t.test(`hedge: true (${where}) - a straggler runs again on an idle worker: one result per item, the loser cancelled`, async (t) => {
    const lb = createLb(t, { worker: fixture("hedge.js"), workers: 2, ...(where.includes("LoadBalancer") ? { hedge: true } : {}) });
    await lb.ready;
    const { straggle, items: inputs } = items(t, 12);
    const results = await collect(lb.map(inputs, { settled: true, ...(where.includes("map") ? { hedge: true } : {}) }));
    t.equal(results.length, 12, "12 results for 12 items");
    t.same(results.map((r) => r.index), range(12, (i) => i), "one per item, in order");
    t.ok(results.every((r) => r.ok), "all succeeded");
    t.equal(results[0].value, "fast", "the straggler's result is its hedge's (its first run never ends by itself)");
    await waitFor(() => /cancelled/.test(readFileSync(straggle.log, "utf8")), { what: "the losing run to see its signal abort" });
    await waitFor(() => lb.stats().hedgeLost >= 1, { what: "the loser's result dropped and counted" });
    const s = lb.stats();
    t.ok(s.hedged >= 1, `hedged counted (${s.hedged})`);
    t.equal(s.malformedDropped, 0, "the loser's result is not counted as malformed");
    t.equal(s.duplicatesDropped, 0, "nor as a duplicate");
    t.equal(s.done, 12, "12 done");
    t.equal(s.retried, 0, "nothing retried");
  });
}

t.test("hedge: false on a map overrides the LoadBalancer's hedge: true: its straggler is not run twice", async (t) => {
  const lb = createLb(t, { worker: fixture("hedge.js"), workers: 2, hedge: true });
  await lb.ready;
  const { straggle, items: inputs } = items(t, 12);
  // The straggler's one run ends at its timeout (its signal aborts); a hedge would have ended it "fast".
  const results = await collect(lb.map(inputs, { settled: true, hedge: false, timeout: 3000 }));
  t.equal(results.length, 12);
  t.equal(results[0].ok, false, "the straggler timed out");
  t.equal(results[0].error.name, "TimeoutError");
  t.ok(results.slice(1).every((r) => r.ok), "the rest succeeded");
  t.equal(lb.stats().hedged, 0, "nothing hedged");
  t.notMatch(readFileSync(straggle.log, "utf8"), /fast/, "the straggler never ran a second time");
});

t.test("hedge - map() refuses a non-boolean", async (t) => {
  const lb = createLb(t, { worker: fixture("hedge.js"), workers: 1 });
  t.throws(() => lb.map([1], { hedge: "yes" }), { code: "ERR_ZEROLB_INVALID_OPTION", message: /hedge must be true or false/ });
});
