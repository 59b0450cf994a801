// retries / retryDelay (README "Retries", docs/semantics.md "Retries and worker deaths"): a handler
// that throws, rejects or times out runs again after a growing, jittered delay; `retryable: false`
// fails at once; ctx.attempt counts every run; the final error carries `attempts`; a task waiting
// for its retry holds no worker slot.
import { readFileSync } from "node:fs";
import t from "tap";
import { TaskError, TimeoutError } from "../dist/index.js";
import { collect, createLb, fixture, tmpPath, waitFor, within } from "./helpers.js";

const runs = (log) => readFileSync(log, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));

t.test("retries - a failing handler runs again after delays that at least double, and ctx.attempt counts the runs", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 2 });
  const items = [0, 1, 2].map((key) => ({ op: "flaky", key, fails: 2, reject: key === 1, log }));
  const results = await within(collect(lb.map(items, { retries: 2, retryDelay: 100 })), 60_000, "the map");
  t.same(results, items.map((x) => ({ key: x.key, attempt: 3 })), "each item succeeds on its third run, which sees ctx.attempt 3");
  const byKey = new Map();
  for (const r of runs(log)) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
  for (const [key, list] of byKey) {
    t.same(list.map((r) => r.attempt), [1, 2, 3], `item ${key} ran 3 times`);
    // The delays are 100 then 200 ms, each with at most -50 % jitter: at least 50 and 100 ms.
    t.ok(list[1].t - list[0].t >= 50, `item ${key}: the first retry waited >= 50 ms (${list[1].t - list[0].t})`);
    t.ok(list[2].t - list[1].t >= 100, `item ${key}: the second retry waited >= 100 ms (${list[2].t - list[1].t})`);
  }
  const stats = lb.stats();
  t.equal(stats.retriedErrors, 6, "stats().retriedErrors counts the 6 runs repeated after failures");
  t.equal(stats.retried, 0, "stats().retried (runs repeated after worker deaths) does not");
});

t.test("retries - a task that fails every run fails after retries + 1 runs, its error carrying attempts", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 1, retries: 2, retryDelay: 10 });
  const rows = await within(collect(lb.map([{ op: "flaky", key: "a", fails: 99, log }], { settled: true })), 60_000, "the map");
  t.equal(rows[0].ok, false);
  t.ok(rows[0].error instanceof TaskError, "a TaskError");
  t.equal(rows[0].error.attempts, 3, "attempts: 3 (the LoadBalancer's retries: 2, plus the first run)");
  t.match(rows[0].error.cause.message, /run 3 of a failed on purpose/, "the cause is the last run's error");
  t.equal(runs(log).length, 3, "the handler ran 3 times");
  const id = await lb.send({ op: "flaky", key: "b", fails: 99, log }, { retries: 0 });
  const r = await within(lb.receive(), 60_000, "the sent task");
  t.equal(r.id, id);
  t.equal(r.error.attempts, 1, "send({ retries: 0 }) overrides the LoadBalancer's retries");
});

t.test("retries - an error with retryable: false fails at once", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 1 });
  const rows = await within(collect(lb.map([{ op: "flaky", key: "p", fails: 99, permanent: true, log }], { settled: true, retries: 5, retryDelay: 10 })), 60_000, "the map");
  t.equal(rows[0].error.attempts, 1, "one run");
  t.equal(rows[0].error.cause.retryable, false, "the cause says why");
  t.equal(runs(log).length, 1, "the handler ran once");
  t.equal(lb.stats().retriedErrors, 0);
});

t.test("retries - a run that times out is retried; one that succeeds in time is not", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 1 });
  const id = await lb.send({ op: "slowFirst", key: "s", ms: 2000, log }, { timeout: 200, retries: 1, retryDelay: 10 });
  const r = await within(lb.receive(), 60_000, "the sent task");
  t.same(r, { id, ok: true, value: { key: "s", attempt: 2 } }, "the second run succeeds");
  const rows = await collect(lb.map([{ op: "slowFirst", key: "t", ms: 2000, log }], { timeout: 200, settled: true }));
  t.ok(rows[0].error instanceof TimeoutError, "without retries the timeout is final");
  t.equal(rows[0].error.attempts, 1);
});

t.test("retries - a task waiting for its retry holds no worker slot, and a cancel reaches it", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 1, concurrency: 1 });
  await lb.ready;
  const controller = new AbortController();
  const flaky = await lb.send({ op: "flaky", key: "f", fails: 1, log }, { retries: 1, retryDelay: 5000, signal: controller.signal });
  // Once the first run has failed, the only worker slot is free: a second task runs while the
  // first waits (at least 2.5 s) for its retry.
  const quick = await lb.send({ op: "echo", key: "q", log });
  const first = await within(lb.receive(), 60_000, "the quick task");
  t.equal(first.id, quick, "the quick task finishes first");
  await waitFor(() => lb.stats().retrying === 1, { what: "stats().retrying to show the task waiting for its retry" });
  controller.abort();
  const second = await within(lb.receive(), 60_000, "the cancelled task");
  t.equal(second.id, flaky);
  t.equal(second.error.code, "ERR_ZEROLB_CANCELLED", "a task waiting for its retry can be cancelled");
  await lb.close();
  t.same(runs(log).filter((r) => r.key === "f").map((r) => r.attempt), [1], "it never ran again");
});

t.test("retries - options are checked", async (t) => {
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 1 });
  t.throws(() => lb.map([], { retries: -1 }), { code: "ERR_ZEROLB_INVALID_OPTION", message: /options\.retries must be an integer >= 0/ });
  t.throws(() => lb.map([], { retries: 1.5 }), { code: "ERR_ZEROLB_INVALID_OPTION" });
  t.throws(() => lb.map([], { retryDelay: "1s" }), { code: "ERR_ZEROLB_INVALID_OPTION", message: /options\.retryDelay/ });
  t.throws(() => lb.map([], { retrys: 1 }), { code: "ERR_ZEROLB_INVALID_OPTION", message: /retries/ });
  await t.rejects(lb.send(1, { maxRetries: 1 }), { code: "ERR_ZEROLB_INVALID_OPTION", message: /retries/ });
  t.throws(() => createLb(t, { worker: fixture("controls.js"), workers: 1, retries: "3" }), { code: "ERR_ZEROLB_INVALID_OPTION", message: /options\.retries/ });
});

t.test('retries - each retry after a handler failure is a "retry" event carrying that run\'s error', async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 1, retries: 2, retryDelay: 1 });
  const events = [];
  lb.on("retry", (e) => events.push(e));
  const [result] = await collect(lb.map([{ op: "flaky", key: "e", fails: 2, log }]));
  t.same(result, { key: "e", attempt: 3 }, "the third run succeeds");
  t.same(events.map((e) => e.attempt), [2, 3], "one event per retry, with the run that starts");
  t.same(events.map((e) => e.index), [0, 0], "the map item's index");
  for (const e of events) {
    t.ok(e.error instanceof TaskError, "the error is a TaskError");
    t.match(e.error.cause?.message, /failed on purpose/, "whose cause is what the handler threw");
  }
  t.equal(events[0].error.attempts, 1, "the first event's error: after one run");
});
