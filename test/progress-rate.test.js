// onProgress's rate, total and eta; the one rate computation (RateMeter) the CLI's bar and its
// summary share, so they agree.
import t from "tap";
import { InvalidOptionError } from "../dist/index.js";
import { etaMs, RateMeter } from "../dist/shared/rate.js";
import { collect, range, sharedLb } from "./helpers.js";
import { HANDLER, runCli, writeInput } from "./cli-helpers.js";

const shared = sharedLb(t, { workers: 2 });

t.test("RateMeter - the rate over the last 5 s while a run goes, over the whole run at its end", async (t) => {
  const meter = new RateMeter(0);
  t.equal(meter.rate(0, 0), 0, "nothing yet");
  t.equal(meter.rate(1000, 100), 100, "100 in the first second: 100/s");
  for (let s = 2; s <= 10; s++) meter.rate(s * 1000, 100 + (s - 1) * 10); // then 10 per second
  t.equal(meter.rate(10_000, 190), 10, "the last 5 s: 10/s, the fast start forgotten");
  t.equal(meter.rate(10_000, 190, true), 19, "final: 190 in 10 s");
  t.equal(etaMs(100, 50, 10), 5000, "50 left at 10/s: 5 s");
  t.equal(etaMs(100, 100, 0), 0, "none left: 0");
  t.equal(etaMs(100, 50, 0), undefined, "no rate yet: unknown");
});

t.test(".map(array, { onProgress }) - rate, total (the array's length) and eta", async (t) => {
  const lb = shared();
  const calls = [];
  const items = range(40, (i) => ({ op: "sleep", ms: 10, value: i }));
  await collect(lb.map(items, { onProgress: (p) => calls.push(p) }));
  for (const c of calls) {
    t.equal(c.total, 40, "total: the array's length");
    t.ok(Number.isFinite(c.rate) && c.rate >= 0, `rate ${c.rate} is a number >= 0`);
    if (c.rate > 0) t.ok(Number.isFinite(c.eta) && c.eta >= 0, `eta ${c.eta} ms when there is a rate`);
  }
  const last = calls.at(-1);
  t.equal(last.final, true);
  t.equal(last.eta, 0, "final: nothing left");
  t.ok(Math.abs(last.rate - ((last.done + last.failed) * 1000) / last.elapsedMs) < 1e-9, "final rate: the whole run's");
});

t.test(".map(generator, { total, onProgress }) - total from the option; without it, no total nor eta", async (t) => {
  const lb = shared();
  function* gen() {
    yield* range(10);
  }
  const withTotal = [];
  await collect(lb.map(gen(), { total: 10, onProgress: (p) => withTotal.push(p) }));
  t.equal(withTotal.at(-1).total, 10);
  t.equal(withTotal.at(-1).eta, 0);
  const without = [];
  await collect(lb.map(gen(), { onProgress: (p) => without.push(p) }));
  t.notOk("total" in without.at(-1), "no total");
  t.notOk("eta" in without.at(-1), "no eta");
  t.ok(without.at(-1).rate > 0, "a rate all the same");
});

t.test(".map({ total }) - must be a whole number >= 0", async (t) => {
  const lb = shared();
  for (const bad of [-1, 1.5, "10", NaN]) {
    t.throws(() => lb.map([1], { total: bad }), { code: "ERR_ZEROLB_INVALID_OPTION", message: /options\.total must be an integer >= 0/ });
  }
  t.ok(new InvalidOptionError("x") instanceof TypeError);
});

t.test("zerolb map --progress - the last progress line and the summary give the same rate", async (t) => {
  const input = writeInput(t, "in.jsonl", range(30, () => ({ sleep: 20, value: 1 })));
  const r = await runCli(t, ["map", HANDLER, input, "--workers", "2", "--progress"]);
  t.equal(r.code, 0, r.stderr);
  const bars = r.stderr.split("\n").filter((l) => l.includes("30/30"));
  const lastBar = bars.at(-1);
  const barRate = /\| ([\d.]+[kM]?)\/s \|/.exec(lastBar)?.[1];
  const summaryRate = /30 done, 0 failed in \S+ \(([\d.]+[kM]?)\/s\)/.exec(r.stderr)?.[1];
  t.ok(barRate, `the last bar has a rate (${lastBar})`);
  t.equal(barRate, summaryRate, "the same rate in both");
});
