// Options: the constructor refuses bad ones with a TypeError (code ERR_ZEROLB_INVALID_OPTION) and
// starts nothing; resolveOptions (a pure function) fills in defaults.
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import t from "tap";
import { LoadBalancer } from "../dist/index.js";
import { DEFAULTS, resolveOptions } from "../dist/options.js";
import { fixture, ipcDirsLeft } from "./helpers.js";

const worker = fixture("ops.js");

const invalid = [
  ["workers: -1", { worker, workers: -1 }, /options\.workers must be an integer >= 0; received -1/],
  ["workers: 1.5", { worker, workers: 1.5 }, /options\.workers/],
  ["workers: '2'", { worker, workers: "2" }, /options\.workers.*received "2"/],
  ["concurrency: 0", { worker, concurrency: 0 }, /options\.concurrency must be an integer >= 1; received 0/],
  ["highWaterMark: 0", { worker, highWaterMark: 0 }, /options\.highWaterMark/],
  ["highWaterMarkBytes: 0.5", { worker, highWaterMarkBytes: 0.5 }, /options\.highWaterMarkBytes must be an integer >= 1/],
  ["maxAttempts: 0", { worker, maxAttempts: 0 }, /options\.maxAttempts/],
  ["timeout: -5", { worker, timeout: -5 }, /options\.timeout/],
  ["timeout: NaN", { worker, timeout: Number.NaN }, /options\.timeout/],
  ["an unknown key, with a hint", { worker, numWorkers: 2 }, /unknown option "numWorkers" \(did you mean "workers"\?\)/],
  ["an unknown key used for the module", { module: worker }, /unknown option "module" \(did you mean "worker"\?\)/],
  ["an unknown key with no hint", { worker, frobnicate: true }, /unknown option "frobnicate"$/],
  ["worker missing", {}, /options\.worker must be a module path or file URL; received undefined/],
  ["worker empty", { worker: "" }, /options\.worker/],
  ["worker a number", { worker: 42 }, /options\.worker.*received 42/],
  ["worker an http URL", { worker: new URL("https://example.com/handler.js") }, /file: URL/],
  ["workerData a Map", { worker, workerData: new Map([[1, 2]]) }, /options\.workerData cannot be sent.*Map/],
  ["workerData holding a function", { worker, workerData: { f() {} } }, /options\.workerData cannot be sent/],
  ["endpoint a number", { worker, endpoint: 5555 }, /options\.endpoint/],
];

for (const [name, options, message] of invalid) {
  t.test(`new LoadBalancer() - throws a TypeError for ${name}`, async (t) => {
    let caught;
    try {
      new LoadBalancer(options);
    } catch (err) {
      caught = err;
    }
    t.ok(caught instanceof TypeError, "a TypeError");
    t.equal(caught?.code, "ERR_ZEROLB_INVALID_OPTION");
    t.match(caught?.message, message);
    t.same(ipcDirsLeft(), [], "nothing was started");
  });
}

t.test("new LoadBalancer() - throws a TypeError when options are not an object", async (t) => {
  for (const options of [undefined, null, "ops.js", 3]) {
    t.throws(() => new LoadBalancer(options), { name: "TypeError", code: "ERR_ZEROLB_INVALID_OPTION" }, `options = ${String(options)}`);
  }
  t.same(ipcDirsLeft(), []);
});

t.test("resolveOptions() - the default highWaterMark covers every local slot twice, and is at least 4096", async (t) => {
  t.equal(resolveOptions({ worker, workers: 2, concurrency: 1 }).highWaterMark, 4096);
  t.equal(resolveOptions({ worker, workers: 0, concurrency: 1000 }).highWaterMark, 4096, "no local workers");
  t.equal(resolveOptions({ worker, workers: 8, concurrency: 1000 }).highWaterMark, 16000);
  t.equal(resolveOptions({ worker, workers: 8, concurrency: 100, highWaterMark: 10 }).highWaterMark, 10, "an explicit value wins");
});

t.test("resolveOptions() - fills in the defaults", async (t) => {
  const r = resolveOptions({ worker });
  t.equal(r.moduleUrl, pathToFileURL(worker).href);
  t.equal(r.workers, availableParallelism());
  t.equal(r.concurrency, DEFAULTS.concurrency);
  t.equal(r.concurrency, 1);
  t.equal(r.highWaterMark, Math.max(4096, 2 * availableParallelism()));
  t.equal(r.highWaterMarkBytes, 64 * 1024 * 1024);
  t.equal(r.maxAttempts, 3);
  t.equal(r.timeout, 0, "no timeout");
  t.equal(r.heartbeatInterval, 1000);
  t.equal(r.heartbeatTimeout, 3000, "interval x liveness");
  t.equal(r.endpoint, undefined);
  t.equal(r.insecure, false);
  t.ok(r.workerData instanceof Uint8Array, "workerData is encoded once, up front");
  t.same([...r.workerData], [0xc0], "absent workerData is null");
});

t.test("resolveOptions() - takes what it is given", async (t) => {
  const r = resolveOptions({
    worker: pathToFileURL(worker), workers: 0, concurrency: 8, highWaterMark: 5, maxAttempts: 1, timeout: 10.2,
    heartbeatInterval: 50, heartbeatLiveness: 4, closeTimeout: 0, workerData: { a: 1 },
  });
  t.equal(r.moduleUrl, pathToFileURL(worker).href, "a file URL is kept");
  t.equal(r.workers, 0, "0 workers is allowed (remote only)");
  t.equal(r.concurrency, 8);
  t.equal(r.highWaterMark, 5);
  t.equal(r.maxAttempts, 1);
  t.equal(r.timeout, 11, "a fractional timeout rounds up");
  t.equal(r.heartbeatTimeout, 200);
  t.equal(r.closeTimeout, 0);
  t.ok(r.workerData.length > 0);
});

t.test("resolveOptions() - a relative path is resolved against the current directory", async (t) => {
  const r = resolveOptions({ worker: "test/fixtures/ops.js" });
  t.equal(r.moduleUrl, pathToFileURL(`${process.cwd()}/test/fixtures/ops.js`).href);
});
