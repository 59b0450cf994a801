// batchSize / batchWait (README "Batched handler calls"): the handler is called with an array of
// up to batchSize inputs and returns an array of results; the map still yields one result per item.
import { readFileSync } from "node:fs";
import t from "tap";
import { TaskError } from "../dist/index.js";
import { collect, createLb, fixture, tmpPath, within } from "./helpers.js";

const calls = (log) => readFileSync(log, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));

t.test("batchSize - the handler gets arrays of at most batchSize inputs, full ones while work waits; results come one per item, in order", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 2 });
  await lb.ready;
  const items = Array.from({ length: 1000 }, (_, key) => ({ key, log }));
  const results = await within(collect(lb.map(items, { fn: "double", batchSize: 16 })), 60_000, "the map");
  t.same(results, items.map((x) => x.key * 2), "one result per item, in input order");
  const sizes = calls(log).map((c) => c.size);
  t.equal(sizes.reduce((a, b) => a + b, 0), 1000, "every item was in exactly one call");
  t.ok(sizes.every((n) => n >= 1 && n <= 16), "no call had more than 16 inputs");
  const full = sizes.filter((n) => n === 16).length;
  // 1000 items make at least 62 full batches when the worker's credit lets batches fill; a worker
  // that took tasks one or two at a time would make few or none.
  t.ok(full >= 40, `most calls had a full batch (${full} of ${sizes.length} calls)`);
  const unordered = await collect(lb.map(items.slice(0, 50), { fn: "double", batchSize: 8, ordered: false }));
  t.same(unordered.sort((a, b) => a - b), items.slice(0, 50).map((x) => x.key * 2), "ordered: false yields each once too");
});

t.test("batchSize - a throw fails every task of its batch; a result array of the wrong length fails them with a clear error", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 1 });
  await lb.ready;
  const rows = await collect(lb.map([{ op: "throw", key: 1, log }, { key: 2, log }], { fn: "double", batchSize: 2, batchWait: 1000, settled: true }));
  t.equal(rows.length, 2);
  for (const row of rows) {
    t.ok(row.error instanceof TaskError, `item ${row.index} failed`);
    t.match(row.error.cause.message, /the batch failed on purpose/);
  }
  const short = await collect(lb.map([{ op: "short", key: 1, log }, { key: 2, log }, { key: 3, log }], { fn: "double", batchSize: 3, batchWait: 1000, settled: true }));
  for (const row of short) t.match(row.error?.cause?.message, /must return an array of one result per input, in order: it was called with 3 inputs and returned an array of 2 results/);
});

t.test("batchSize - with retries, each task of a failed batch runs again", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 1 });
  await lb.ready;
  const items = [{ op: "failFirst", key: 1, log }, { key: 2, log }, { key: 3, log }];
  const results = await collect(lb.map(items, { fn: "double", batchSize: 3, batchWait: 1000, retries: 1, retryDelay: 10 }));
  t.same(results, [2, 4, 6], "every item succeeds on its second run");
  const c = calls(log);
  t.same(c[0], { ...c[0], size: 3, attempt: 1 }, "the first call had the 3 items, and failed");
  t.equal(c.slice(1).reduce((n, x) => n + x.size, 0), 3, "the retries ran the 3 items again");
  t.equal(lb.stats().retriedErrors, 3, "3 retries counted");
});

t.test("batchSize - a lone item waits batchWait at most, then goes alone", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 1 });
  await lb.ready;
  t.same(await within(collect(lb.map([{ key: 21, log }], { fn: "double", batchSize: 64, batchWait: 20 })), 60_000, "the map"), [42]);
  t.same(calls(log).map((c) => c.size), [1]);
});

t.test("batchSize - options are checked", async (t) => {
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 1 });
  t.throws(() => lb.map([], { batchSize: 0 }), { code: "ERR_ZEROLB_INVALID_OPTION", message: /options\.batchSize must be an integer >= 1/ });
  t.throws(() => lb.map([], { batchWait: 5 }), { code: "ERR_ZEROLB_INVALID_OPTION", message: /options\.batchWait needs options\.batchSize > 1/ });
  t.throws(() => lb.map([], { chunksize: 5 }), { code: "ERR_ZEROLB_INVALID_OPTION", message: /batchSize/ });
  await t.rejects(lb.send(1, { batchSize: 5 }), { code: "ERR_ZEROLB_INVALID_OPTION", message: /unknown option "batchSize"/ });
});
