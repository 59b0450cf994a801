// priority (README "Priority"): among tasks waiting in the broker, higher priority starts first,
// first come first served within one priority; for send() and for every item of a map().
import { readFileSync, writeFileSync } from "node:fs";
import t from "tap";
import { collect, createLb, fixture, tmpPath, waitFor, within } from "./helpers.js";

const started = (log) => readFileSync(log, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line).key);

/**
 * One worker running one task at a time, held by a gate task, with one more task (the filler) in
 * its hands already (its prefetch): every task sent after that waits in the broker's queue.
 */
async function heldWorker(t) {
  const log = tmpPath(t);
  const open = `${log}.open`;
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 1, concurrency: 1 });
  await lb.ready;
  await lb.send({ op: "gate", key: "gate", open, log });
  await lb.send({ key: "filler", log });
  await waitFor(() => lb.stats().inFlight === 2 && lb.stats().queued === 0, { what: "the gate and the filler at the worker" });
  return { lb, log, release: () => writeFileSync(open, "") };
}

t.test("priority - send(): higher priority starts first, FIFO within a priority", async (t) => {
  const { lb, log, release } = await heldWorker(t);
  const sent = [["low-1", -1], ["mid-1", 0], ["high-1", 5], ["mid-2", 0], ["high-2", 5], ["low-2", -1], ["top", 9]];
  for (const [key, priority] of sent) await lb.send({ key, log }, { priority });
  await waitFor(() => lb.stats().queued === sent.length, { what: "the tasks queued at the broker" });
  release();
  for (let i = 0; i < sent.length + 2; i++) await within(lb.receive(), 60_000, "a result");
  t.same(started(log), ["gate", "filler", "top", "high-1", "high-2", "mid-1", "mid-2", "low-1", "low-2"], "the start order");
});

t.test("priority - map(): a later map of higher priority overtakes a queued bulk map", async (t) => {
  const { lb, log, release } = await heldWorker(t);
  const bulk = collect(lb.map([1, 2, 3, 4].map((i) => ({ key: `bulk-${i}`, log }))));
  await waitFor(() => lb.stats().queued === 4, { what: "the bulk map queued" });
  const urgent = collect(lb.map([1, 2].map((i) => ({ key: `urgent-${i}`, log })), { priority: 1 }));
  await waitFor(() => lb.stats().queued === 6, { what: "the urgent map queued" });
  release();
  await within(Promise.all([bulk, urgent]), 60_000, "both maps");
  t.same(started(log).slice(2), ["urgent-1", "urgent-2", "bulk-1", "bulk-2", "bulk-3", "bulk-4"], "the urgent items start first, each map in its order");
  await lb.receive();
  await lb.receive();
});

t.test("priority - send(): sends waiting for room (highWaterMark) get it higher priority first", async (t) => {
  const log = tmpPath(t);
  const open = `${log}.open`;
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 1, highWaterMark: 1 });
  await lb.ready;
  await lb.send({ op: "gate", key: "gate", open, log });
  // highWaterMark 1: each of these waits for room until the gate's result is received.
  const admitted = [];
  const waiting = [["low", -1], ["mid", 0], ["high", 4]].map(([key, priority]) =>
    lb.send({ key, log }, { priority }).then(() => admitted.push(key)));
  writeFileSync(open, "");
  for (let i = 0; i < 4; i++) await within(lb.receive(), 60_000, "a result");
  await Promise.all(waiting);
  t.same(admitted, ["high", "mid", "low"], "room went to the waiting sends by priority");
});

t.test("priority - options are checked", async (t) => {
  const lb = createLb(t, { worker: fixture("controls.js"), workers: 1 });
  t.throws(() => lb.map([], { priority: 1.5 }), { code: "ERR_ZEROLB_INVALID_OPTION", message: /options\.priority must be an integer/ });
  await t.rejects(lb.send(1, { priority: "high" }), { code: "ERR_ZEROLB_INVALID_OPTION", message: /options\.priority/ });
  await t.rejects(lb.send(1, { priority: 2 ** 40 }), { code: "ERR_ZEROLB_INVALID_OPTION", message: /options\.priority/ });
});
