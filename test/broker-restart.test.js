// The broker dies or hangs (docs/semantics.md): a new broker finishes a map exactly once, a hung one
// is found by heartbeat and replaced; a dead broker is restarted and the LoadBalancer goes on, up
// to 5 deaths in a minute; one more and everything outstanding fails with a BrokerError, as does
// every later call.
import t from "tap";
import { BrokerError, TaskError } from "../dist/index.js";
import { alive, createLb, exactlyOnce, range, waitFor, within } from "./helpers.js";

/** Resolves once the LoadBalancer runs a broker other than `old`, alive (looking every `interval` ms). */
function newBroker(lb, old, interval = 10) {
  return waitFor(() => lb.pids.broker !== old && alive(lb.pids.broker), { timeout: 60_000, interval, what: `a broker other than ${old}` });
}

/** One task through send/receive: the LoadBalancer works. */
async function roundTrip(t, lb, value, what) {
  const id = await lb.send(value);
  const r = await within(lb.receive(), 60_000, `the round trip ${what}`);
  t.same(r, { id, ok: true, value: value * 2 }, `a task runs ${what}`);
}

t.test(".map() - SIGKILL of the broker mid-stream: a new broker finishes the map exactly once", async (t) => {
  const lb = createLb(t, { workers: 2 });
  await lb.ready;
  const firstBroker = lb.pids.broker;
  const results = [];
  for await (const r of lb.map(range(20000), { ordered: false })) {
    results.push(r);
    if (results.length === 3000) process.kill(firstBroker, "SIGKILL");
  }
  exactlyOnce(t, results, range(20000, (i) => i * 2));
  t.equal(lb.stats().brokerRestarts, 1);
  t.not(lb.pids.broker, firstBroker, "a new broker process");
  t.notOk(alive(firstBroker));
});

t.test(".map() - a hung broker (SIGSTOP) is detected by heartbeat, replaced, and the map finishes exactly once", async (t) => {
  const lb = createLb(t, { workers: 2, heartbeatInterval: 200 });
  await lb.ready;
  const hung = lb.pids.broker;
  t.teardown(() => {
    try {
      process.kill(hung, "SIGKILL");
    } catch {}
  });
  const results = [];
  for await (const r of lb.map(range(3000, (i) => ({ op: "sleep", ms: 1, value: i })), { ordered: false })) {
    results.push(r);
    if (results.length === 300) process.kill(hung, "SIGSTOP");
  }
  exactlyOnce(t, results, range(3000));
  // At least the hung one; on a loaded machine a short liveness may also take a slow start for a hang.
  t.ok(lb.stats().brokerRestarts >= 1, "the hung broker was replaced");
  t.not(lb.pids.broker, hung);
});

const WINDOW_MS = 60_000;

t.test("broker - dies 5 times and is restarted each time; the 6th death within a minute fails everything with a BrokerError", async (t) => {
  const lb = createLb(t, { workers: 1 });
  await lb.ready;
  const deaths = [];
  for (;;) {
    // The death that would be the 6th within a minute is the test's last. On a slow machine the
    // oldest of the last five may near the minute's edge: then let it fall out of the window for
    // sure, so the LoadBalancer and this test count the same deaths.
    const oldest = deaths.at(-5);
    if (oldest !== undefined && Date.now() - oldest > WINDOW_MS - 10_000) {
      await new Promise((resolve) => setTimeout(resolve, WINDOW_MS + 2_000 - (Date.now() - oldest)));
    }
    if (deaths.filter((d) => Date.now() - d < WINDOW_MS).length >= 5) break;
    const broker = lb.pids.broker;
    process.kill(broker, "SIGKILL");
    deaths.push(Date.now());
    await newBroker(lb, broker);
    await roundTrip(t, lb, deaths.length, `after broker death ${deaths.length}`);
  }
  t.equal(lb.stats().brokerRestarts, deaths.length, `${deaths.length} restarts counted`);

  // A task in flight when the broker dies the 6th time within a minute.
  const pending = await lb.send({ op: "until", path: "/nonexistent/never" });
  process.kill(lb.pids.broker, "SIGKILL");
  const r = await within(lb.receive(), 60_000, "the outcome of the task in flight");
  t.equal(r.id, pending);
  t.equal(r.ok, false, "the task in flight fails");
  t.ok(r.error instanceof TaskError, "with a TaskError");
  t.ok(r.error.cause instanceof BrokerError, "caused by a BrokerError");
  t.equal(r.error.cause?.code, "ERR_ZEROLB_BROKER");
  t.match(r.error.cause?.message, /6 times in 60 s; giving up/, "which says how often the broker died");
  const later = await lb.send(1).catch((err) => err);
  t.ok(later instanceof BrokerError, "a later send() rejects with the BrokerError");
  t.equal(later.code, "ERR_ZEROLB_BROKER");
  await t.rejects(lb.map([1]).next(), { code: "ERR_ZEROLB_BROKER" }, "and so does a later map()");
  await waitFor(() => lb.pids.workers.length === 0 && !alive(lb.pids.broker), { timeout: 20_000, what: "every child process to stop" });
  t.pass("every child process stopped");
});

t.test(
  "broker - a second death while it restarts uses the budget too: the LoadBalancer goes on",
  async (t) => {
    const lb = createLb(t, { workers: 1 });
    await lb.ready;
    const first = lb.pids.broker;
    process.kill(first, "SIGKILL");
    // The replacement is killed as soon as it exists, most likely before it has bound its sockets.
    await newBroker(lb, first, 1);
    const second = lb.pids.broker;
    process.kill(second, "SIGKILL");
    await newBroker(lb, second);
    await roundTrip(t, lb, 21, "after two deaths in a row");
    t.equal(lb.stats().brokerRestarts, 2, "two restarts counted");
  },
);
