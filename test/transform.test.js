// createTransform(lb): a Duplex over lb.map() for stream.pipeline, with backpressure both ways.
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import t from "tap";
import { TaskError } from "../dist/index.js";
import { createTransform } from "../dist/caller/transform.js";
import { createLb, fixture, lineCount, range, sharedLb, tmpPath, waitFor } from "./helpers.js";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** An object-mode sink that collects what it gets, taking `delay` ms per item. */
function sink(out, { delay = 0, highWaterMark = 1, onItem } = {}) {
  return new Writable({
    objectMode: true,
    highWaterMark,
    write(item, _enc, callback) {
      out.push(item);
      onItem?.(item);
      if (delay > 0) setTimeout(callback, delay);
      else callback();
    },
  });
}

// LoadBalancers shared by the tests that leave nothing running.
const twoWorkers = sharedLb(t, { workers: 2 });
const window8 = sharedLb(t, { highWaterMark: 8 });

t.test("createTransform: in stream.pipeline, results in input order", async (t) => {
  const lb = twoWorkers();
  const out = [];
  await pipeline(Readable.from(range(500)), createTransform(lb), sink(out));
  t.same(out, range(500, (i) => i * 2));
});

t.test("createTransform: map options pass through (fn, ordered: false, settled)", async (t) => {
  const lb = createLb(t, { workers: 1, concurrency: 4 });
  const tripled = [];
  await pipeline(Readable.from([1, 2, 3]), createTransform(lb, { fn: "triple" }), sink(tripled));
  t.same(tripled, [3, 6, 9]);
  const unordered = [];
  const items = [{ op: "sleep", ms: 300, value: "a" }, { op: "sleep", ms: 5, value: "b" }];
  await pipeline(Readable.from(items), createTransform(lb, { ordered: false }), sink(unordered));
  t.same(unordered, ["b", "a"]);
  const rows = [];
  await pipeline(Readable.from([1, { op: "throw", message: "no" }, 3]), createTransform(lb, { settled: true }), sink(rows));
  t.same(rows.map((r) => r.ok), [true, false, true]);
  t.same(rows.map((r) => r.index), [0, 1, 2]);
  t.ok(rows[1].error instanceof TaskError);
});

t.test("createTransform: a slow sink keeps the items in flight bounded", async (t) => {
  const lb = window8();
  const N = 300;
  let pulled = 0;
  let consumed = 0;
  let maxAhead = 0;
  function* source() {
    for (let i = 0; i < N; i++) {
      pulled++;
      maxAhead = Math.max(maxAhead, pulled - consumed);
      yield i;
    }
  }
  const out = [];
  const transform = createTransform(lb, { highWaterMark: 4, writableHighWaterMark: 2, readableHighWaterMark: 2 });
  await pipeline(Readable.from(source(), { highWaterMark: 1 }), transform, sink(out, { delay: 2, onItem: () => consumed++ }));
  t.same(out, range(N, (i) => i * 2));
  // source buffer 1 + being written 1 + writable buffer 2 + in flight 4 + readable buffer 2 + sink 1 + slack
  t.ok(maxAhead <= 14, `items pulled ahead of the sink stay bounded (max ${maxAhead})`);

  // Defaults: the LoadBalancer's highWaterMark (8) plus the stream buffers (16 each).
  pulled = consumed = maxAhead = 0;
  out.length = 0;
  await pipeline(Readable.from(source()), createTransform(lb), sink(out, { delay: 1, onItem: () => consumed++ }));
  t.equal(out.length, N);
  t.ok(maxAhead <= 8 + 16 * 3 + 4, `bounded with default buffers too (max ${maxAhead})`);
});

t.test("createTransform: the writable side stops accepting when highWaterMark items are in flight", async (t) => {
  const lb = createLb(t, { workers: 1, concurrency: 8 });
  const transform = createTransform(lb, { highWaterMark: 3, writableHighWaterMark: 1 });
  const accepted = [];
  // Nobody reads, and the writer ignores write()'s false: items are taken only as far as the
  // window (3) and the readable buffer (16) allow; the rest waits in the writable buffer.
  let ok = true;
  for (let i = 0; i < 50; i++) ok = transform.write({ op: "sleep", ms: 1, value: i }, () => accepted.push(i)) && ok;
  t.notOk(ok, "write() returned false");
  await waitFor(() => transform.readableLength === 16, { what: "the readable buffer to fill" });
  await sleep(300);
  t.ok(accepted.length >= 3, `work started before anyone read (${accepted.length} accepted)`);
  t.ok(accepted.length <= 3 + 16 + 1, `accepted only a window's worth without a reader (${accepted.length})`);
  t.ok(transform.writableLength >= 50 - (3 + 16 + 1), `the rest waits in the writable buffer (${transform.writableLength})`);
  t.equal(transform.readableLength, 16, "the readable buffer is full");
  transform.destroy();
});

t.test("createTransform: a failing task destroys the stream with its TaskError", async (t) => {
  const lb = twoWorkers();
  const out = [];
  await t.rejects(pipeline(Readable.from([1, 2, { op: "throw", message: "kaput" }, 4]), createTransform(lb), sink(out)), {
    name: "TaskError", message: /kaput/, index: 2,
  });
  t.same(out, [2, 4], "results before the failure went through");
  // The LoadBalancer goes on.
  const again = [];
  await pipeline(Readable.from([5]), createTransform(lb), sink(again));
  t.same(again, [10]);
});

t.test("createTransform: a failing sink destroys the transform and cancels the rest", async (t) => {
  const log = tmpPath(t, "runs");
  const lb = createLb(t, { workers: 1, highWaterMark: 16, workerData: { log } });
  const bad = new Writable({
    objectMode: true,
    write(_item, _enc, callback) {
      callback(new Error("sink broke"));
    },
  });
  // The first item is quick; the others end only when cancelled, so whatever the machine's speed,
  // only the first and at most the one the worker runs can have started when the sink fails.
  const items = [1, ...range(99, () => ({ op: "signal" }))];
  await t.rejects(pipeline(Readable.from(items), createTransform(lb), bad), /sink broke/);
  const again = [];
  await pipeline(Readable.from([1]), createTransform(lb), sink(again));
  t.same(again, [2], "the LoadBalancer is still usable");
  await lb.close();
  const runs = lineCount(log) - 1; // the later pipeline's one item
  t.ok(runs >= 1 && runs <= 2, `${runs} of the 100 items ran: the rest were cancelled`);
});

t.test("createTransform: a null result cannot travel in a stream: a clear error", async (t) => {
  const lb = createLb(t, { worker: fixture("cli-handler.js"), workers: 1 });
  await t.rejects(pipeline(Readable.from([{ value: null }]), createTransform(lb), sink([])), { code: "ERR_STREAM_NULL_VALUES", message: /settled/ });
  const rows = [];
  await pipeline(Readable.from([{ value: null }]), createTransform(lb, { settled: true }), sink(rows));
  t.same(rows.map((r) => [r.ok, r.value]), [[true, null]]);
});

t.test("createTransform: an empty input ends at once; bad options throw", async (t) => {
  const lb = twoWorkers();
  const out = [];
  await pipeline(Readable.from([]), createTransform(lb), sink(out));
  t.same(out, []);
  t.throws(() => createTransform(lb, { highWaterMark: 0 }), TypeError);
});

t.test("createTransform: abort signal ends the stream with the signal's reason", async (t) => {
  const lb = createLb(t, { workers: 1 });
  const controller = new AbortController();
  const out = [];
  const done = pipeline(Readable.from(range(50, () => ({ op: "sleep", ms: 20, value: 1 }))), createTransform(lb, { signal: controller.signal }), sink(out));
  setTimeout(() => controller.abort(new Error("enough")), 150);
  await t.rejects(done, /enough/);
  t.ok(out.length < 50);
});

t.test("lb.transform() - the public method: stream.pipeline with a slow sink stays bounded", async (t) => {
  const lb = window8();
  let pulled = 0;
  let consumed = 0;
  let maxAhead = 0;
  function* source() {
    for (let i = 0; i < 300; i++) {
      pulled++;
      maxAhead = Math.max(maxAhead, pulled - consumed);
      yield i;
    }
  }
  const out = [];
  await pipeline(Readable.from(source()), lb.transform(), sink(out, { delay: 1, onItem: () => consumed++ }));
  t.same(out, range(300, (i) => i * 2));
  t.ok(maxAhead <= 8 + 16 * 3 + 4, `items pulled ahead of the slow sink stay bounded (max ${maxAhead})`);
});
