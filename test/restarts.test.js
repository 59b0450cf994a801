// Kills at any moment, start-up and restarts included: the pool goes on within its documented
// budgets, and a kill from outside is never taken for a handler that cannot start.
import t from "tap";
import { collect, createLb, exactlyOnce, range, waitFor, within } from "./helpers.js";

t.test("workers SIGKILLed while setup() runs do not fail the pool: they are restarted, and ready resolves", async (t) => {
  const lb = createLb(t, { workers: 2, workerData: { setupDelayMs: 400 } });
  lb.ready.catch(() => {});
  const seen = new Set();
  for (let kill = 0; kill < 6; kill++) {
    const pid = await waitFor(() => lb.pids.workers.find((p) => !seen.has(p)), { timeout: 30_000, what: `a new worker to kill (#${kill + 1})` });
    seen.add(pid);
    process.kill(pid, "SIGKILL");
  }
  await within(lb.ready, 30_000, "ready after the kills");
  t.same(await within(collect(lb.map([1, 2, 3])), 30_000, "a map"), [2, 4, 6]);
  await waitFor(() => lb.stats().workerRestarts >= 6, { what: `six restarts to be counted (${lb.stats().workerRestarts})` });
  t.pass("every killed worker was restarted");
});

t.test("the broker killed again while it restarts: the map finishes exactly once, within the restart budget", async (t) => {
  const lb = createLb(t, { workers: 2 });
  await lb.ready;
  const first = lb.pids.broker;
  let second;
  const results = [];
  await within(
    (async () => {
      for await (const r of lb.map(range(5000, (i) => ({ op: "sleep", ms: 1, value: i })), { ordered: false })) {
        results.push(r);
        if (results.length === 200) {
          process.kill(first, "SIGKILL");
          // Kill the replacement as soon as it exists: while it starts.
          second = await waitFor(() => (lb.pids.broker !== first ? lb.pids.broker : undefined), { what: "a new broker" });
          process.kill(second, "SIGKILL");
        }
      }
    })(),
    90_000,
    "the map",
  );
  exactlyOnce(t, results, range(5000));
  t.equal(lb.stats().brokerRestarts, 2, "two deaths, two restarts: no BrokerError");
  t.not(lb.pids.broker, second);
});

t.test("workers killed again and again during a map: each restarted, no task fails, each result once", async (t) => {
  // Up to 10 kills: with maxAttempts 11 no task can be failed by them, whatever workers it was on
  // (with the default 3, a task held by three of the killed workers fails with WorkerExitError, as
  // documented); what is checked is that kills from outside are restarted and lose nothing.
  const lb = createLb(t, { workers: 2, maxAttempts: 11 });
  await lb.ready;
  const results = [];
  const killed = new Set();
  await within(
    (async () => {
      for await (const r of lb.map(range(20_000), { ordered: false, settled: true })) {
        results.push(r);
        if (results.length % 1500 === 0 && killed.size < 10) {
          const victim = lb.pids.workers.find((pid) => !killed.has(pid));
          if (victim) {
            process.kill(victim, "SIGKILL");
            killed.add(victim);
          }
        }
      }
    })(),
    120_000,
    "the map",
  );
  t.equal(results.filter((r) => !r.ok).length, 0, "no task failed, though tasks shared workers that were killed");
  exactlyOnce(t, results.map((r) => r.value), range(20_000, (i) => i * 2));
  await waitFor(() => lb.stats().workerRestarts >= killed.size, { what: `${killed.size} restarts to be counted (${lb.stats().workerRestarts})` });
  t.ok(killed.size >= 5, `workers were killed (${killed.size})`);
});
