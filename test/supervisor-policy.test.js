// The supervisor's restart policy, as pure functions: a kill from outside is no crash loop.
import t from "tap";
import { killedFromOutside, restartDelay } from "../dist/caller/supervisor.js";

t.test("killedFromOutside() - signals a process raises on itself are its own failure; the others came from outside", async (t) => {
  for (const signal of ["SIGKILL", "SIGTERM", "SIGINT", "SIGHUP"]) t.equal(killedFromOutside(signal), true, signal);
  for (const signal of ["SIGSEGV", "SIGABRT", "SIGBUS", "SIGFPE", "SIGILL"]) t.equal(killedFromOutside(signal), false, signal);
  t.equal(killedFromOutside(null), false, "an exit code");
});

t.test("restartDelay() - killed from outside: at once, however often; ended by itself soon after starting: backoff", async (t) => {
  let quick = 0;
  for (let i = 0; i < 8; i++) {
    const next = restartDelay(true, 100, quick);
    t.equal(next.delay, 0, `outside kill ${i + 1}: restarted at once`);
    quick = next.quickDeaths;
  }
  const delays = [];
  quick = 0;
  for (let i = 0; i < 9; i++) {
    const next = restartDelay(false, 100, quick);
    delays.push(next.delay);
    quick = next.quickDeaths;
  }
  t.same(delays, [50, 100, 200, 400, 800, 1600, 3200, 5000, 5000], "quick deaths by its own hand back off, capped at 5 s");
  t.same(restartDelay(false, 6000, 7), { delay: 0, quickDeaths: 0 }, "a worker that lived 5 s starts afresh");
});
