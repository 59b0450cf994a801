// A fleet of remote workers (CONTRACT, "Fleet of remote workers"; docs/protocol.md, Goodbye and
// Bye): a LoadBalancer that closes tells its remote workers, and `zerolb worker` then waits for the
// next LoadBalancer at the same endpoint, or exits 0 with --exit-on-close; a worker whose setup()
// throws tells the broker (stats().failedSetups) and exits 1 with the reason.
import t from "tap";
import { existsSync } from "node:fs";
import { collect, createLb, range, tmpPath, waitFor } from "./helpers.js";
import { startWorker } from "./remote-helpers.js";

const remoteOnly = (extra = {}) => ({ workers: 0, endpoint: "tcp://127.0.0.1:0", ...extra });
const pidsOf = async (lb, n) => new Set((await collect(lb.map(range(n, () => ({ op: "info" }))))).map((r) => r.pid));

t.test("zerolb worker - when the LoadBalancer closes it says so, waits, and joins the next one at the same endpoint", async (t) => {
  const first = createLb(t, remoteOnly());
  await first.ready;
  const endpoint = first.endpoint;
  const worker = startWorker(t, endpoint);
  await worker.waitForLog(/joined/);
  t.same([...(await pidsOf(first, 4))], [worker.pid], "the first LoadBalancer's tasks ran on the remote worker");
  await first.close();
  await worker.waitForLog(/LoadBalancer at .* closed; waiting for the next one/);
  t.equal(worker.child.exitCode, null, "the worker is still running");
  t.notMatch(worker.stderr, /lost the broker/, "a goodbye is not reported as a lost broker");

  const second = createLb(t, remoteOnly({ endpoint }));
  await second.ready;
  await worker.waitForLog(/rejoined/);
  t.same([...(await pidsOf(second, 4))], [worker.pid], "the next LoadBalancer at that endpoint is served by the same worker");
  await second.close();
  await worker.waitForLog(/closed; waiting for the next one[\s\S]*closed; waiting for the next one/);
  process.kill(worker.pid, "SIGTERM");
  t.same(await worker.exited, { code: 0, signal: null }, "SIGTERM still ends it with 0");
});

t.test("zerolb worker --exit-on-close - exits 0 when the LoadBalancer closes", async (t) => {
  const lb = createLb(t, remoteOnly());
  await lb.ready;
  const worker = startWorker(t, lb.endpoint, { args: ["--exit-on-close"] });
  await worker.waitForLog(/joined/);
  t.same([...(await pidsOf(lb, 3))], [worker.pid], "its tasks ran on the remote worker");
  await lb.close();
  t.same(await worker.exited, { code: 0, signal: null }, "exit code 0");
  t.match(worker.stderr, /closed; exiting \(--exit-on-close\)/, "it says why on stderr");
});

t.test("zerolb worker --exit-on-close - close({ force: true }) says goodbye too", async (t) => {
  const lb = createLb(t, remoteOnly());
  await lb.ready;
  const worker = startWorker(t, lb.endpoint, { args: ["--exit-on-close"] });
  await worker.waitForLog(/joined/);
  await lb.close({ force: true });
  t.same(await worker.exited, { code: 0, signal: null }, "exit code 0");
  t.match(worker.stderr, /closed; exiting \(--exit-on-close\)/);
});

t.test("zerolb worker --exit-on-close - a worker still in its setup() exits too", async (t) => {
  // setup() takes a minute: the worker is welcomed but not yet joined when the LoadBalancer closes.
  const setupLog = tmpPath(t, "setup");
  const lb = createLb(t, remoteOnly({ workerData: { setupDelayMs: 60_000, setupLog } }));
  await lb.ready;
  const worker = startWorker(t, lb.endpoint, { args: ["--exit-on-close"] });
  await waitFor(() => existsSync(setupLog), { what: "the worker's setup() to begin" });
  await lb.close();
  t.same(await worker.exited, { code: 0, signal: null }, "exit code 0 without ever joining");
  t.match(worker.stderr, /exit-on-close/);
});

t.test("zerolb worker - a setup() that throws is reported to the broker (stats().failedSetups) and exits 1 with the reason", async (t) => {
  const lb = createLb(t, remoteOnly({ workerData: { setupThrows: true } }));
  await lb.ready;
  t.equal(lb.stats().failedSetups, 0, "none before");
  const worker = startWorker(t, lb.endpoint);
  t.same(await worker.exited, { code: 1, signal: null }, "exit code 1");
  t.match(worker.stderr, /setup\(\) .* threw: .*setup failed on purpose/, "the reason on stderr");
  await waitFor(() => lb.stats().failedSetups === 1, { what: "the failed set-up counted in stats()" });
  t.equal(lb.stats().failedSetups, 1, "the broker counted it");
  t.equal(lb.stats().workers.length, 0, "the worker is not listed");
});
