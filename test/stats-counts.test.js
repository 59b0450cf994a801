// lb.stats() (README, "Properties and methods"; docs/semantics.md, "Counters"): every documented
// count, per worker what it did and holds, and the gauges while tasks wait and run.
import { writeFileSync } from "node:fs";
import t from "tap";
import { collect, createLb, range, tmpPath, waitFor, within, workersAnswering } from "./helpers.js";

const COUNTS = [
  "queued", "inFlight", "waiting", "submitted", "done", "failed", "retried", "timedOut", "cancelled",
  "duplicatesDropped", "malformedDropped", "refusedHandshakes", "workerRestarts", "brokerRestarts",
];

t.test("stats() - every documented count, exact after a map; each local worker with what it did", async (t) => {
  const lb = createLb(t, { workers: 2 });
  const pids = await workersAnswering(lb, 2); // `ready` promises one
  const before = lb.stats();
  const rows = await collect(lb.map(range(20, (i) => (i === 3 ? { op: "throw" } : { op: "sleep", ms: 2, value: i })), { settled: true }));
  t.equal(rows.filter((r) => !r.ok).length, 1);
  const s = lb.stats();
  for (const key of COUNTS) t.type(s[key], "number", `stats().${key} is a number`);
  const since = (key) => s[key] - before[key];
  t.same({ submitted: since("submitted"), done: since("done"), failed: since("failed") }, { submitted: 20, done: 19, failed: 1 }, "20 submitted: 19 done, 1 failed");
  t.match(s, {
    queued: 0, inFlight: 0, waiting: 0, retried: 0, timedOut: 0, cancelled: 0,
    duplicatesDropped: 0, malformedDropped: 0, refusedHandshakes: 0, workerRestarts: 0, brokerRestarts: 0,
  }, "nothing queued, waiting or in flight; nothing retried, timed out, cancelled or dropped");
  t.equal(s.workers.length, 2, "both workers are listed");
  t.same(s.workers.map((w) => w.pid).sort(), [...pids].sort(), "by the pids of the workers that answered");
  t.same(s.workers.map((w) => w.index).sort(), [0, 1], "with an index in order of joining");
  for (const w of s.workers) {
    t.type(w.id, "string", "an id");
    t.ok(w.id.length > 0);
    t.equal(w.local, true, "local");
    t.equal(w.inFlight, 0, "holding nothing once the map is over");
  }
  t.equal(s.workers.reduce((sum, w) => sum + w.done, 0), s.done + s.failed, "their done counts add up to the tasks they finished");
});

t.test(
  "stats() - while tasks wait and run: waiting (on `after`), queued, inFlight, and the workers, without waiting for a result",
  async (t) => {
    const gate = tmpPath(t, "gate");
    const lb = createLb(t, { workers: 1 });
    await lb.ready;
    t.equal(lb.stats().workers.length, 1, "the worker is listed right after ready");
    const first = await lb.send({ op: "until", path: gate });
    await lb.send(1, { after: [first] });
    for (const i of range(5)) await lb.send(i);
    await waitFor(() => lb.stats().inFlight >= 1, { timeout: 20_000, what: "inFlight >= 1" }).catch((err) => t.fail(err.message));
    const s = lb.stats();
    t.equal(s.waiting, 1, "one task waits on its dependency");
    t.ok(s.queued >= 1, `tasks wait at the broker for the busy worker (queued ${s.queued})`);
    t.ok(s.workers[0]?.inFlight >= 1, "the worker holds the running task");
    writeFileSync(gate, "");
    for (let i = 0; i < 7; i++) await within(lb.receive(), 60_000, "an outcome");
    t.match(lb.stats(), { waiting: 0, queued: 0, inFlight: 0, done: 7 });
  },
);
