// The Python worker of examples/python-worker (written from docs/protocol.md alone) serves a map
// of a workers: 0 LoadBalancer over loopback tcp. Needs /usr/bin/python3 with pyzmq and msgpack
// (Debian: apt-get install python3-zmq python3-msgpack); skipped, saying so, where they are missing.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import t from "tap";
import { TaskError } from "../dist/index.js";
import { JsonText } from "../dist/wire/json-text.js";
import { collect, createLb, fixture, range, waitFor } from "./helpers.js";
import { spawnWatched } from "./remote-helpers.js";

const PYTHON = "/usr/bin/python3";
const WORKER = fileURLToPath(new URL("../examples/python-worker/worker.py", import.meta.url));
const HANDLERS = fileURLToPath(new URL("../examples/python-worker/handlers.py", import.meta.url));

function missing() {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ["-c", "import zmq, msgpack; print(zmq.zmq_version())"], { encoding: "utf8" });
  if (probe.status !== 0) return `${PYTHON} cannot import zmq and msgpack (apt-get install python3-zmq python3-msgpack): ${probe.stderr.trim().split("\n").pop()}`;
  return undefined;
}

const why = missing();
if (why) t.skip(`Python worker tests: ${why}`);
else {
  /** Starts the Python worker; killed (by pid) when the test ends. */
  const startPython = (t, endpoint, args = []) => spawnWatched(t, PYTHON, [WORKER, HANDLERS, "--connect", endpoint, ...args]);

  t.test("python worker - serves a map of a workers: 0 LoadBalancer", async (t) => {
    const lb = createLb(t, { workers: 0, endpoint: "tcp://127.0.0.1:0", workerData: { model: "small" } });
    await lb.ready;
    const py = startPython(t, lb.endpoint, ["--concurrency", "2"]);
    t.same(await collect(lb.map(range(1000), { fn: "double" })), range(1000, (i) => i * 2), "double(x) for 1000 items, in order");
    t.same(await collect(lb.map(range(10))), range(10, (i) => i * 2), "the default handler");
    const [info] = await collect(lb.map([{ a: [1, "two", null] }], { fn: "describe" }));
    t.same(info.data, { a: [1, "two", null] }, "values survive the trip");
    t.same(info.workerData, { model: "small" }, "setup() got workerData from the Welcome");
    t.equal(info.attempt, 1);
    t.equal(info.pid, py.child.pid);
    // zerolb map's input lines travel as JSON text (extension kind "J"): parsed by the worker.
    const [line, bad] = await collect(lb.map([new JsonText('{"a":[1,"two",null]}'), new JsonText("{bad")], { fn: "describe", settled: true }));
    t.same(line.value?.data, { a: [1, "two", null] }, "a JSON text arrives parsed");
    t.equal(bad.ok, false, "text that is not JSON fails its task");
    t.equal(bad.error?.cause?.name, "JsonLinesError", "as a JsonLinesError, which the CLI reports with its file and line");
    const workers = lb.stats().workers;
    t.equal(workers.length, 1);
    t.equal(workers[0].local, false, "a remote worker");
    t.equal(workers[0].pid, py.child.pid);
    t.match(py.stderr(), /joined tcp:\/\/127\.0\.0\.1:\d+/);
  });

  t.test("python worker - errors come back as TaskErrors with the Python exception as cause", async (t) => {
    const lb = createLb(t, { workers: 0, endpoint: "tcp://127.0.0.1:0" });
    await lb.ready;
    startPython(t, lb.endpoint);
    const rows = await collect(lb.map(["fine", "bad"], { fn: "fail", settled: true }));
    t.equal(rows.length, 2);
    for (const row of rows) {
      t.equal(row.ok, false);
      t.ok(row.error instanceof TaskError);
      t.equal(row.error.cause.name, "ValueError");
      t.match(row.error.cause.stack, /Traceback/);
    }
    const [missingFn] = await collect(lb.map([1], { fn: "nope", settled: true }));
    t.match(missingFn.error.cause.message, /no function named 'nope'/);
  });

  t.test("python worker - rejoins a restarted broker (told by its Reset) and serves the rest", async (t) => {
    const lb = createLb(t, { workers: 0, endpoint: "tcp://127.0.0.1:0" });
    await lb.ready;
    const py = startPython(t, lb.endpoint);
    const firstBroker = lb.pids.broker;
    const results = [];
    for await (const r of lb.map(range(400, () => 2), { fn: "sleep", ordered: false })) {
      results.push(r);
      if (results.length === 100) process.kill(firstBroker, "SIGKILL");
    }
    t.same(results, range(400, () => 2), "every task once");
    t.equal(lb.stats().brokerRestarts, 1);
    t.match(py.stderr(), /reset by the broker/, "the new broker's Reset made it say Hello again");
    t.equal(py.child.exitCode, null, "the Python worker kept running");
  });

  t.test("python worker - shares a map with a local worker and leaves cleanly on SIGTERM", async (t) => {
    const lb = createLb(t, { worker: fixture("ops.js"), workers: 1, endpoint: "tcp://127.0.0.1:0" });
    await lb.ready;
    const py = startPython(t, lb.endpoint);
    await waitFor(() => /joined/.test(py.stderr()), { what: "the Python worker to join" });
    // ops.js and handlers.py both have a default handler that doubles numbers.
    const n = 20_000;
    const results = [];
    let remoteDone = 0;
    for await (const r of lb.map(range(n), { ordered: false })) {
      results.push(r);
      // Stopped once stats() shows it has done work (a gone remote worker is no longer listed).
      if (remoteDone === 0 && (results.length & 63) === 0) {
        remoteDone = lb.stats().workers.find((w) => !w.local)?.done ?? 0;
        if (remoteDone > 0) process.kill(py.child.pid, "SIGTERM");
      }
    }
    t.ok(remoteDone > 0, `the Python worker did tasks (${remoteDone} by the time it was stopped)`);
    t.same(results.sort((a, b) => a - b), range(n, (i) => i * 2), "every result once");
    t.same(await py.exited, { code: 0, signal: null }, "the Python worker exited 0");
    t.match(py.stderr(), /left tcp/);
    t.notOk(lb.stats().workers.some((w) => !w.local), "and it is no longer listed");
  });
}
