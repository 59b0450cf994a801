// Remote workers (`zerolb worker --connect`) over loopback tcp and ipc, with real processes:
// joining, sharing a map with local workers, dying, outliving the broker, leaving. Security and
// protocol versions: remote-security.test.js.
import { hostname } from "node:os";
import { join } from "node:path";
import t from "tap";
import { alive, collect, createLb, exactlyOnce, range, tmpDir } from "./helpers.js";
import { startWorker } from "./remote-helpers.js";

const LOOPBACK = "tcp://127.0.0.1:0";
const sleepy = (n, ms) => range(n, (i) => ({ op: "sleep", ms, value: i }));

t.test("zerolb worker - joins a workers: 0 LoadBalancer and serves a map", async (t) => {
  const lb = createLb(t, { workers: 0, endpoint: LOOPBACK });
  await lb.ready;
  t.match(lb.endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/, "lb.endpoint is the bound endpoint, port resolved");
  t.not(lb.endpoint, LOOPBACK);
  const worker = startWorker(t, lb.endpoint);
  const results = await collect(lb.map(range(500)));
  t.same(results, range(500, (i) => i * 2), "every result, in order");
  const workers = lb.stats().workers;
  t.equal(workers.length, 1, "one worker seen");
  t.equal(workers[0].local, false, "it is remote");
  t.equal(workers[0].pid, worker.pid, "with the CLI worker's pid");
  t.equal(workers[0].done, 500);
  t.equal(workers[0].name, hostname(), "named by its host name (zerolb worker's default --name)");
  if (process.platform === "linux") {
    // Its side of the connection: loopback and an ephemeral port, not the broker's.
    const [, port] = /^127\.0\.0\.1:(\d+)$/.exec(workers[0].address ?? "") ?? [];
    t.ok(port, `its address is host and port (${workers[0].address})`);
    t.not(`tcp://127.0.0.1:${port}`, lb.endpoint, "the worker's own port, not the broker's");
  }
  t.match(worker.stderr, /joined tcp:\/\/127\.0\.0\.1:\d+/, "the join is logged on stderr");
});

t.test("workers: 0 - ready resolves once the broker has bound, with no worker at all", async (t) => {
  const lb = createLb(t, { workers: 0, endpoint: LOOPBACK });
  await lb.ready;
  t.match(lb.endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  t.same(lb.pids.workers, []);
});

t.test("endpoint - an ipc:// endpoint takes remote workers too", async (t) => {
  const endpoint = `ipc://${join(tmpDir(t), "workers")}`;
  const lb = createLb(t, { workers: 0, endpoint });
  await lb.ready;
  t.equal(lb.endpoint, endpoint, "lb.endpoint is the ipc endpoint");
  const worker = startWorker(t, endpoint);
  t.same(await collect(lb.map(range(50))), range(50, (i) => i * 2), "a zerolb worker joins through it and serves a map");
  t.same(lb.stats().workers.map((w) => [w.pid, w.local]), [[worker.pid, false]], "as a remote worker");
});

t.test("endpoint - local and remote workers share one map", async (t) => {
  const lb = createLb(t, { workers: 1, endpoint: LOOPBACK });
  await lb.ready;
  const worker = startWorker(t, lb.endpoint, { args: ["--name", "box-7"] });
  await worker.waitForLog(/joined/);
  const results = await collect(lb.map(sleepy(300, 3), { ordered: false }));
  exactlyOnce(t, results, range(300));
  const workers = lb.stats().workers;
  const local = workers.filter((w) => w.local);
  const remote = workers.filter((w) => !w.local);
  t.equal(local.length, 1, "one local worker");
  t.equal(remote.length, 1, "one remote worker");
  t.equal(remote[0].name, "box-7", "with the name it gave (--name)");
  t.ok(local[0].done > 0, `the local worker did ${local[0].done}`);
  t.ok(remote[0].done > 0, `the remote worker did ${remote[0].done}`);
  t.equal(local[0].done + remote[0].done, 300);
});

t.test("endpoint - a remote worker SIGKILLed mid-map loses and doubles nothing", async (t) => {
  const lb = createLb(t, { workers: 1, endpoint: LOOPBACK });
  await lb.ready;
  const victim = startWorker(t, lb.endpoint, { args: ["--concurrency", "4"] });
  const other = startWorker(t, lb.endpoint);
  await Promise.all([victim.waitForLog(/joined/), other.waitForLog(/joined/)]);
  const results = [];
  for await (const r of lb.map(sleepy(2000, 2), { ordered: false })) {
    results.push(r);
    if (results.length === 300) process.kill(victim.pid, "SIGKILL");
  }
  exactlyOnce(t, results, range(2000));
  t.equal((await victim.exited).signal, "SIGKILL");
  t.equal(lb.stats().failed, 0);
  t.ok(lb.stats().retried > 0, "what it held ran elsewhere");
});

t.test("endpoint - a remote worker outlives a broker restart, rejoins and serves the rest", async (t) => {
  const lb = createLb(t, { workers: 0, endpoint: LOOPBACK });
  await lb.ready;
  const endpoint = lb.endpoint;
  const worker = startWorker(t, endpoint);
  const firstBroker = lb.pids.broker;
  const results = [];
  for await (const r of lb.map(sleepy(1500, 1), { ordered: false })) {
    results.push(r);
    if (results.length === 300) process.kill(firstBroker, "SIGKILL");
  }
  exactlyOnce(t, results, range(1500));
  t.equal(lb.stats().brokerRestarts, 1);
  t.not(lb.pids.broker, firstBroker, "a new broker");
  t.notOk(alive(firstBroker));
  t.equal(lb.endpoint, endpoint, "the new broker bound the same endpoint");
  t.match(worker.stderr, /lost the broker/, "the worker logged the loss");
  t.match(worker.stderr, /rejoined/, "and the rejoin");
  t.ok(alive(worker.pid), "the worker is still running");
  const after = lb.stats().workers.filter((w) => !w.local && w.pid === worker.pid);
  t.ok(after.some((w) => w.done > 0), "the rejoined worker served tasks of the new broker");
});

t.test("zerolb worker - SIGTERM: finishes what runs, hands back the rest, exits 0; nothing lost or charged", async (t) => {
  const lb = createLb(t, { workers: 1, endpoint: LOOPBACK });
  await lb.ready;
  const leaver = startWorker(t, lb.endpoint, { args: ["--concurrency", "4"] });
  await leaver.waitForLog(/joined/);
  // Tasks of 200 ms: a worker busy with them holds some at any moment (with 10 ms ones, a loaded
  // machine could catch it between a flush of results and the next tasks, holding none).
  const items = range(200, () => ({ op: "info", sleep: 200 }));
  const results = [];
  let exit;
  let byLeaver = 0;
  for await (const r of lb.map(items, { ordered: false })) {
    results.push(r);
    // Stopped once it is busy taking work (on a loaded machine it may join late), with most to do.
    if (r.pid === leaver.pid && ++byLeaver === 8 && results.length < 150) {
      process.kill(leaver.pid, "SIGTERM");
      exit = leaver.exited;
    }
  }
  const ids = results.map((r) => r.id);
  exactlyOnce(t, ids, range(200, (i) => String(i)));
  t.ok(exit, "it was stopped while the map had work to hand out");
  t.same(await exit, { code: 0, signal: null }, "exit code 0");
  const [, running, handedBack] = /stopping: (\d+) running task\(s\) finish, (\d+) go back/.exec(leaver.stderr) ?? [];
  t.ok(Number(running) + Number(handedBack) > 0, `it held tasks when it was stopped: ${running} running, ${handedBack} handed back`);
  t.match(leaver.stderr, /left /);
  t.same([...new Set(results.map((r) => r.attempt))], [1], "handing back is not a worker death: every task ran on its first attempt");
  t.ok(results.some((r) => r.pid === leaver.pid), "the leaver did some of the work");
  t.equal(lb.stats().failed, 0);
});
