// A process frozen (SIGSTOP) for any time, then resumed (SIGCONT): nothing is lost or doubled, and
// nothing stays stuck. With heartbeatInterval 300 ms (liveness 900 ms) the caller's connection to a
// frozen broker drops after ~0.9 s and a broker still frozen ~0.9 s later is killed and replaced:
// freezes in between end with both sides reconnecting to the same broker, which must reconcile
// what each holds (docs/semantics.md, "Freezes").
import t from "tap";
import { collect, createLb, exactlyOnce, range, within } from "./helpers.js";

const HEARTBEAT = { heartbeatInterval: 300 };

/** Freezes `pid` for `ms`; the returned promise resolves once it is resumed. */
function freeze(t, pid, ms) {
  process.kill(pid, "SIGSTOP");
  const resume = () => {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      // gone
    }
  };
  t.teardown(resume);
  return new Promise((resolve) => setTimeout(() => (resume(), resolve()), ms));
}

t.test("broker frozen past the liveness, resumed before it is replaced: a running map finishes exactly once", async (t) => {
  const lb = createLb(t, { workers: 2, ...HEARTBEAT });
  await lb.ready;
  const broker = lb.pids.broker;
  const items = range(3000, (i) => ({ op: "sleep", ms: 1, value: i }));
  const results = [];
  let frozen;
  await within(
    (async () => {
      for await (const r of lb.map(items, { ordered: false })) {
        results.push(r);
        if (results.length === 300) frozen = freeze(t, broker, 1350);
      }
    })(),
    90_000,
    "the map after a broker freeze",
  );
  await frozen;
  exactlyOnce(t, results, range(3000));
  t.equal(lb.stats().failed, 0);
  t.comment(`broker restarts: ${lb.stats().brokerRestarts} (0 when the freeze ended before the broker was taken for hung)`);
});

t.test("an idle LoadBalancer whose broker was frozen past the liveness runs maps afterwards", async (t) => {
  const lb = createLb(t, { workers: 2, ...HEARTBEAT });
  await lb.ready;
  for (const ms of [1100, 1600]) {
    await freeze(t, lb.pids.broker, ms);
    const results = await within(collect(lb.map([1, 2, 3, 4])), 30_000, `a map after a ${ms} ms freeze`);
    t.same(results, [2, 4, 6, 8], `after a ${ms} ms freeze`);
  }
  const s = lb.stats();
  t.equal(s.done, 8);
  t.equal(s.failed, 0, "no task failed");
});

t.test("a worker frozen past the liveness and resumed rejoins; send/receive tasks each come back once", async (t) => {
  const lb = createLb(t, { workers: 2, ...HEARTBEAT });
  await lb.ready;
  const ids = [];
  for (let i = 0; i < 40; i++) ids.push(await lb.send({ op: "sleep", ms: 20, value: i }));
  await freeze(t, lb.pids.workers[0], 1500);
  const got = [];
  for (let i = 0; i < 40; i++) got.push(await within(lb.receive(), 30_000, `receive ${i}`));
  t.same(got.map((r) => r.id).sort(), [...ids].sort(), "each id once");
  t.ok(got.every((r) => r.ok), "all succeeded");
  const more = await within(collect(lb.map(range(20))), 30_000, "a map afterwards");
  t.same(more, range(20, (i) => i * 2));
});
