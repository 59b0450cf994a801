// The crash-loop policy (docs/semantics.md, "Start-up failures and crash loops"): once the pool has
// run, a worker slot that fails to start 3 times in a row is not restarted again; when every slot is
// in that state, the pool fails with that cause instead of spinning. A worker killed from outside
// while it starts is not a start-up failure of the handler.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import t from "tap";
import { StartupError } from "../dist/index.js";
import { alive, collect, createLb, range, tmpPath, waitFor, within, workersAnswering } from "./helpers.js";

/** Pids that began setup(), in order (ops.js appends one line per setup() with `setupLog`). */
const setupPids = (log) => readFileSync(log, "utf8").split("\n").filter(Boolean).map(Number);

t.test("crash loop - a slot whose worker fails to start 3 times in a row stops; when every slot has, the pool fails with the cause", async (t) => {
  const setupLog = tmpPath(t, "setups");
  const broken = tmpPath(t, "broken");
  const lb = createLb(t, { workers: 2, workerData: { setupLog, setupFailsWhen: broken } });
  const [first, second] = await workersAnswering(lb, 2);
  // From now on every setup() throws, as if the module had been broken on disk.
  writeFileSync(broken, "");
  const started = setupPids(setupLog).length;

  process.kill(first, "SIGKILL");
  // Its slot tries three times, then gives up.
  await waitFor(() => setupPids(setupLog).length >= started + 3, { timeout: 60_000, what: "three failed starts of the first slot" });
  const attempts = setupPids(setupLog).slice(started);
  await waitFor(() => !attempts.some(alive) && lb.pids.workers.length === 1, { timeout: 20_000, what: "the failed workers to exit" });
  t.same(lb.pids.workers, [second], "the slot is not restarted: only the healthy worker runs");
  // The other slot still serves (and gives a restart, had there been one, time to show).
  t.same(await collect(lb.map(range(100, (i) => ({ op: "sleep", ms: 5, value: i })))), range(100), "the pool goes on with the other slot");
  t.equal(setupPids(setupLog).length, started + 3, "no fourth attempt in the stopped slot");

  process.kill(second, "SIGKILL");
  // Now every slot is in that state: the pool fails, naming the cause.
  // (map([]) runs nothing: it only asks whether the LoadBalancer is usable.)
  const err = await waitFor(() => lb.map([]).next().then(() => false, (e) => e), { timeout: 60_000, what: "the pool to fail" });
  t.ok(err instanceof StartupError, `later calls reject with a StartupError (${err?.message})`);
  t.equal(err.code, "ERR_ZEROLB_STARTUP");
  t.match(err.message, /setup failed on purpose/, "naming the cause");
  t.equal(setupPids(setupLog).length, started + 6, "three attempts in each slot, then none");
  await t.rejects(lb.send(1), err, "send() rejects with it too");
  await waitFor(() => lb.pids.workers.length === 0 && !alive(lb.pids.broker), { timeout: 20_000, what: "every child process to stop" });
  t.pass("every child process stopped");
});

t.test(
  "crash loop - workers SIGKILLed while they start are restarted: killed from outside is not a crash loop",
  async (t) => {
    const setupLog = tmpPath(t, "setups");
    const hold = tmpPath(t, "hold");
    const lb = createLb(t, { workers: 1, workerData: { setupLog, holdSetupWhile: hold } });
    const [worker] = await workersAnswering(lb, 1);
    // Replacements now stay in setup() until `hold` is removed; each is killed while it waits there.
    writeFileSync(hold, "");
    process.kill(worker, "SIGKILL");
    for (let kill = 1; kill <= 4; kill++) {
      const pid = await waitFor(() => setupPids(setupLog).find((p) => p !== worker && alive(p)), { timeout: 60_000, what: `replacement ${kill} in setup()` });
      process.kill(pid, "SIGKILL");
      await waitFor(() => !alive(pid), { what: `replacement ${kill} to die` });
    }
    rmSync(hold);
    t.same(await within(collect(lb.map([1, 2])), 60_000, "a map after four kills during start-up"), [2, 4], "the slot was restarted and serves");
  },
);
