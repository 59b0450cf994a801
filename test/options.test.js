// Options: every call (the constructor, map, transform, send, close, a Pipeline job) refuses bad
// ones with an InvalidOptionError (a TypeError, code ERR_ZEROLB_INVALID_OPTION) that names the
// option, the nearest valid name for a misspelled one, and the value received; the constructor
// starts nothing then. resolveOptions (a pure function) fills in defaults.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import t from "tap";
import { createTransform, InvalidOptionError, jsonLineRecords, LoadBalancer, parseJsonLines, Pipeline, TimeoutError } from "../dist/index.js";
import { DEFAULTS, MAX_HEARTBEAT_TIMEOUT_MS, resolveOptions } from "../dist/caller/options.js";
import { editDistance, nearestName } from "../dist/shared/validate.js";
import { collect, createLb, fixture, ipcDirsLeft, tmpDir } from "./helpers.js";

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
  ["an unknown key with no hint", { worker, frobnicate: true }, /unknown option "frobnicate" \(valid options: worker, workers, concurrency, .*maxMessageSize, .*\)$/],
  ["a misspelled key, with the nearest name", { worker, concurency: 2 }, /unknown option "concurency" \(did you mean "concurrency"\?\)/],
  ["a misspelled key in another case", { worker, highWatermark: 2 }, /unknown option "highWatermark" \(did you mean "highWaterMark"\?\)/],
  ["a misspelled curve key", { worker, endpoint: "tcp://127.0.0.1:0", curve: { publickey: "x" } }, /unknown option "curve\.publickey" \(did you mean "curve\.publicKey"\?\)/],
  ["workers: 0 without an endpoint (nothing could run a task: a silent hang)", { worker, workers: 0 }, /options\.workers is 0 and there is no options\.endpoint.*workers >= 1, or an endpoint/],
  ["timeout past the longest timer", { worker, timeout: 2 ** 31 }, /options\.timeout must be a number of ms > 0 and at most 2147483647.*received 2147483648/],
  ["closeTimeout past the longest timer", { worker, closeTimeout: 2 ** 31 }, /options\.closeTimeout must be a whole number of ms >= 0 and at most 2147483647/],
  ["timeoutGrace past the longest timer", { worker, timeoutGrace: 1e12 }, /options\.timeoutGrace must be .* at most 2147483647/],
  ["timeoutGrace: Infinity", { worker, timeoutGrace: Infinity }, /options\.timeoutGrace/],
  ["heartbeatInterval past what ZeroMQ keeps (raw EINVAL before)", { worker, heartbeatInterval: 2 ** 31 - 1 }, /options\.heartbeatInterval must be an integer >= 10 and <= 6553599/],
  ["heartbeatInterval × heartbeatLiveness past ZeroMQ's 16-bit time-to-live", { worker, heartbeatInterval: 3_000_000, heartbeatLiveness: 3 }, /heartbeatInterval × options\.heartbeatLiveness \(3000000 × 3 = 9000000 ms\) must be at most 6553599 ms/],
  ["heartbeatLiveness: 0", { worker, heartbeatLiveness: 0 }, /options\.heartbeatLiveness must be an integer >= 1/],
  ["insecure: 'yes'", { worker, insecure: "yes" }, /options\.insecure must be true or false; received "yes"/],
  ["an ipc endpoint longer than an ipc path can be", { worker, endpoint: `ipc:///tmp/${"x".repeat(120)}` }, /ipc path is 125 bytes; ipc paths can be at most 107 bytes/],
  ["highWaterMark past an array's length", { worker, highWaterMark: 2 ** 32 }, /options\.highWaterMark must be an integer >= 1 and <= 2147483647/],
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
    t.ok(caught instanceof InvalidOptionError, "an InvalidOptionError");
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
  t.equal(resolveOptions({ worker, workers: 0, endpoint: "tcp://127.0.0.1:0", concurrency: 1000 }).highWaterMark, 4096, "no local workers");
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
    worker: pathToFileURL(worker), workers: 0, endpoint: "tcp://127.0.0.1:0", concurrency: 8, highWaterMark: 5, maxAttempts: 1, timeout: 10.2,
    heartbeatInterval: 50, heartbeatLiveness: 4, closeTimeout: 0, workerData: { a: 1 },
  });
  t.equal(r.moduleUrl, pathToFileURL(worker).href, "a file URL is kept");
  t.equal(r.workers, 0, "0 workers is allowed with an endpoint (remote only)");
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

t.test("resolveOptions() - millisecond options take up to 2147483647, the longest a timer waits", async (t) => {
  const r = resolveOptions({ worker, timeout: 2 ** 31 - 1, closeTimeout: 2 ** 31 - 1, timeoutGrace: 2 ** 31 - 1 });
  t.equal(r.timeout, 2 ** 31 - 1);
  t.equal(r.closeTimeout, 2 ** 31 - 1);
  t.equal(r.timeoutGrace, 2 ** 31 - 1);
  t.throws(() => resolveOptions({ worker, timeout: 2 ** 31 - 0.5 }), { code: "ERR_ZEROLB_INVALID_OPTION" }, "a fraction that rounds up past it");
});

t.test("new LoadBalancer() - the longest heartbeat the options allow is one ZeroMQ takes", async (t) => {
  // 6553599 ms: ZMQ_HEARTBEAT_TTL is kept in tenths of a second in 16 bits. At the limit the
  // sockets are made and a map runs; one millisecond more is refused before anything starts.
  const interval = MAX_HEARTBEAT_TIMEOUT_MS / 3;
  t.equal(interval, 2_184_533);
  const lb = createLb(t, { workers: 1, heartbeatInterval: interval, heartbeatLiveness: 3 });
  t.same(await collect(lb.map([1, 2])), [2, 4]);
});

t.test("new LoadBalancer() - a heartbeat past ZeroMQ's limit is refused before any socket or directory exists", async (t) => {
  // Before: a raw EINVAL from zeromq, an ipc directory left behind and a socket that crashed the
  // process at exit.
  t.throws(() => new LoadBalancer({ worker, workers: 1, heartbeatInterval: 2_184_534, heartbeatLiveness: 3 }), { code: "ERR_ZEROLB_INVALID_OPTION" });
  t.throws(() => new LoadBalancer({ worker, workers: 1, heartbeatInterval: 10_000_000 }), { code: "ERR_ZEROLB_INVALID_OPTION", message: /heartbeatInterval/ });
  t.same(ipcDirsLeft(), [], "no ipc directory left");
});

t.test("nearestName() - suggests a name one slip away, never a distant one", async (t) => {
  const names = ["ordered", "settled", "fn", "timeout", "signal", "pipeline", "onProgress"];
  t.equal(nearestName("orderd", names), "ordered", "a letter missing");
  t.equal(nearestName("ordred", names), "ordered", "two letters swapped");
  t.equal(nearestName("timout", names), "timeout");
  t.equal(nearestName("onprogress", names), "onProgress", "case is ignored");
  t.equal(nearestName("signl", names), "signal");
  t.equal(nearestName("fnn", names), "fn");
  t.equal(nearestName("frobnicate", names), undefined);
  t.equal(nearestName("id", names), undefined, "a short name two edits away is not a slip");
  t.equal(editDistance("afer", "after"), 1);
  t.equal(editDistance("ab", "ba"), 1, "a swap is one edit");
  t.equal(editDistance("", "abc"), 3);
});

/** The error `fn` throws or rejects with. */
async function caught(fn) {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

function isInvalidOption(t, err, message, what) {
  t.ok(err instanceof InvalidOptionError && err instanceof TypeError, `${what}: an InvalidOptionError (a TypeError)`);
  t.equal(err?.code, "ERR_ZEROLB_INVALID_OPTION", `${what}: its code`);
  t.match(err?.message, message, `${what}: the message`);
}

t.test("every call validates its options", async (t) => {
  const lb = createLb(t, { workers: 1 });
  await lb.ready;

  t.test(".map() - refuses bad options at the call, synchronously", async (t) => {
    const cases = [
      [{ orderd: false }, /^map\(\): unknown option "orderd" \(did you mean "ordered"\?\)$/],
      [{ unordered: true }, /unknown option "unordered" \(did you mean ordered: false\?\)/],
      [{ settle: true }, /did you mean "settled"/],
      [{ frobnicate: 1 }, /unknown option "frobnicate" \(valid options: ordered, settled, fn, timeout, signal, pipeline, onProgress, total, hedge, retries, retryDelay, priority, batchSize, batchWait\)/],
      [{ ordered: "no" }, /^map\(\): options\.ordered must be true or false; received "no"$/],
      [{ settled: 1 }, /options\.settled must be true or false; received 1/],
      [{ signal: {} }, /^map\(\): options\.signal must be an AbortSignal .*received an object$/],
      [{ signal: "abort" }, /options\.signal must be an AbortSignal/],
      [{ timeout: 0 }, /options\.timeout must be a number of ms > 0/],
      [{ timeout: 2 ** 31 }, /options\.timeout must be .*at most 2147483647/],
      [{ fn: "" }, /options\.fn must be a non-empty string/],
      [{ onProgress: 5 }, /options\.onProgress must be a function; received 5/],
      [{ pipeline: { jobs: [] } }, /options\.pipeline must be a Pipeline/],
      [{ pipeline: new Pipeline({ a: {} }), fn: "triple" }, /options\.fn and options\.pipeline cannot go together/],
      [null, /^map\(\): options must be an object; received null$/],
      [[], /options must be an object; received an array/],
    ];
    for (const [options, message] of cases) {
      isInvalidOption(t, await caught(() => lb.map([1], options)), message, `map([1], ${JSON.stringify(options)})`);
    }
    isInvalidOption(t, await caught(() => lb.map(42)), /map\(\) needs an Iterable or AsyncIterable; received 42/, "map(42)");
  });

  t.test(".map() - a timeout of 2147483647 ms is a long timeout, not one that fires at once", async (t) => {
    // Node clamps a longer timer to 1 ms: a value past the limit is refused instead.
    t.same(await collect(lb.map([{ op: "sleep", ms: 50 }], { timeout: 2 ** 31 - 1 })), [50]);
    const rows = await collect(lb.map([{ op: "sleep", ms: 5000 }], { timeout: 20, settled: true }));
    t.ok(rows[0].error instanceof TimeoutError, "(control: a short one does fire)");
  });

  t.test(".send() - rejects bad options with the same error", async (t) => {
    const cases = [
      [{ afer: ["a"] }, /^send\(\): unknown option "afer" \(did you mean "after"\?\)$/],
      [{ dependsOn: ["a"] }, /unknown option "dependsOn" \(did you mean "after"\?\)/],
      [{ id: 7 }, /^send\(\): options\.id must be a non-empty string; received 7$/],
      [{ after: "a" }, /options\.after must be an array of task ids; received "a"/],
      [{ after: ["a", 2] }, /options\.after must be an array of task ids; it holds 2/],
      [{ signal: {} }, /^send\(\): options\.signal must be an AbortSignal/],
      [{ timeout: 2 ** 31 }, /options\.timeout must be .*at most 2147483647/],
      [{ fn: 3 }, /options\.fn must be a non-empty string; received 3/],
      [{ after: ["never-sent"] }, /send\(\): options\.after names unknown task id "never-sent"/],
      [{ id: "self", after: ["self"] }, /cannot run after itself/],
      ["x", /^send\(\): options must be an object; received "x"$/],
    ];
    for (const [options, message] of cases) {
      isInvalidOption(t, await caught(() => lb.send(1, options)), message, `send(1, ${JSON.stringify(options)})`);
    }
  });

  t.test(".transform() - refuses bad options, its own and the map's", async (t) => {
    isInvalidOption(t, await caught(() => lb.transform({ orderd: true })), /^transform\(\): unknown option "orderd" \(did you mean "ordered"\?\)$/, "transform({ orderd })");
    isInvalidOption(t, await caught(() => lb.transform({ ordered: "no" })), /^transform\(\): options\.ordered must be true or false/, "transform({ ordered: 'no' })");
    isInvalidOption(t, await caught(() => lb.transform({ readableHighWatermark: 4 })), /did you mean "readableHighWaterMark"/, "a misspelled stream option");
    isInvalidOption(t, await caught(() => createTransform(lb, { highWaterMark: 0 })), /transform\(\): options\.highWaterMark must be an integer >= 1/, "createTransform({ highWaterMark: 0 })");
  });

  t.test(".close() - rejects bad options and does not close", async (t) => {
    isInvalidOption(t, await caught(() => lb.close({ forse: true })), /^close\(\): unknown option "forse" \(did you mean "force"\?\)$/, "close({ forse })");
    isInvalidOption(t, await caught(() => lb.close({ force: "yes" })), /^close\(\): options\.force must be true or false; received "yes"$/, "close({ force: 'yes' })");
    isInvalidOption(t, await caught(() => lb.close(5)), /close\(\): options must be an object/, "close(5)");
    t.same(await collect(lb.map([1])), [2], "still open");
  });
});

t.test("new Pipeline() - refuses a misspelled job option instead of making the job a root", async (t) => {
  // Before: { afer: [...] } was ignored, so "text" got the item instead of fetch's result.
  const cases = [
    [{ fetch: {}, text: { afer: ["fetch"] } }, /^Pipeline job "text": unknown option "afer" \(did you mean "after"\?\)$/],
    [{ fetch: {}, text: { dependsOn: ["fetch"] } }, /unknown option "dependsOn" \(did you mean "after"\?\)/],
    [{ fetch: { fnn: "get" } }, /Pipeline job "fetch": unknown option "fnn" \(did you mean "fn"\?\)/],
    [{ fetch: {}, text: { after: ["fetsh"] } }, /Pipeline job "text" is after unknown job "fetsh" \(did you mean "fetch"\?\)/],
    [{ fetch: {}, text: { after: "fetch" } }, /Pipeline job "text": options\.after must be an array of job names; received "fetch"/],
    [{ fetch: { fn: 3 } }, /Pipeline job "fetch": fn must be a non-empty string; received 3/],
    [{ fetch: [] }, /Pipeline job "fetch" must be an object/],
    [{ a: { after: ["b"] }, b: { after: ["a"] } }, /Pipeline has a cycle: a -> b -> a/],
  ];
  for (const [jobs, message] of cases) isInvalidOption(t, await caught(() => new Pipeline(jobs)), message, JSON.stringify(jobs));
});

t.test("parseJsonLines() / jsonLineRecords() - refuse bad options the same way", async (t) => {
  const first = (iterable) => caught(() => iterable[Symbol.asyncIterator]().next());
  const cases = [
    [() => parseJsonLines(["1\n"], { maxLineLenght: 5 }), /^parseJsonLines\(\): unknown option "maxLineLenght" \(did you mean "maxLineLength"\?\)$/],
    [() => parseJsonLines(["1\n"], { invalid: "maybe" }), /options\.invalid must be "throw", "skip" or "yield"; received "maybe"/],
    [() => parseJsonLines(["1\n"], { encoding: "utf-9" }), /options\.encoding must be a Buffer encoding/],
    [() => jsonLineRecords(["1\n"], { file: 3 }), /^jsonLineRecords\(\): options\.file must be a string; received 3$/],
    [() => jsonLineRecords(["1\n"], { maxLineLength: 0 }), /options\.maxLineLength must be an integer >= 1/],
  ];
  for (const [make, message] of cases) isInvalidOption(t, await first(make()), message, String(make));
});

t.test("new LoadBalancer() - when it throws after making its ipc directory, it removes it", { skip: process.platform !== "linux" && "needs Linux (/dev/null, ulimit)" }, async (t) => {
  // With no file descriptor left for the caller's socket (EMFILE), the constructor throws after
  // the ipc directory exists. Before: the directory stayed behind. Run in a child whose limit is
  // 64 descriptors, all taken but `free` (ZeroMQ's context is made first: its own descriptors are
  // not what is measured), so the socket, or its event observer, is what fails.
  const dir = tmpDir(t);
  const script = join(dir, "emfile.mjs");
  writeFileSync(script, `
import { closeSync, openSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { LoadBalancer } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
const zmq = createRequire(${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)})("zeromq");
new zmq.Dealer().close();
const fds = [];
try { for (;;) fds.push(openSync("/dev/null", "r")); } catch {}
for (let i = 0; i < Number(process.argv[2]); i++) closeSync(fds.pop());
let outcome;
try {
  const lb = new LoadBalancer({ worker: ${JSON.stringify(worker)}, workers: 1 });
  outcome = "constructed";
  for (const fd of fds.splice(0)) closeSync(fd);
  await lb.close({ force: true });
} catch (err) {
  outcome = err.code;
}
for (const fd of fds) closeSync(fd);
const left = readdirSync("/tmp").filter((name) => name.startsWith("zlb-" + process.pid + "-"));
console.log(JSON.stringify({ outcome, left }));
`);
  const outcomes = [];
  for (const free of [0, 1, 2]) {
    const { stdout } = await promisify(execFile)("sh", ["-c", `ulimit -n 64 && exec "${process.execPath}" "${script}" ${free}`], {
      cwd: dir, timeout: 30_000,
    });
    const { outcome, left } = JSON.parse(stdout.trim().split("\n").at(-1));
    outcomes.push(outcome);
    t.ok(outcome === "EMFILE" || outcome === "constructed", `${free} free: it threw EMFILE or was made whole (${outcome})`);
    t.same(left, [], `${free} free: no ipc directory left`);
  }
  t.equal(outcomes[0], "EMFILE", "with no descriptor free the constructor threw EMFILE");
});
