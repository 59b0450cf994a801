// map() at its edges: concurrent next() calls, results still to come counted by size, aborted
// sends that do not swallow wake-ups.
import t from "tap";
import { createLb, range, waitFor, within } from "./helpers.js";

t.test(".map() - two next() calls at once both settle, in order", async (t) => {
  const lb = createLb(t, { workers: 1 });
  await lb.ready;
  const it = lb.map([1, 2, 3])[Symbol.asyncIterator]();
  const [a, b] = await within(Promise.all([it.next(), it.next()]), 20_000, "two next() calls");
  t.same([a.value, b.value], [2, 4]);
  t.same((await it.next()).value, 6);
  t.equal((await it.next()).done, true);
});

t.test(".map() - results still to come count towards highWaterMarkBytes: a stalled consumer holds about that much", async (t) => {
  const hwmBytes = 8 * 1024 * 1024;
  const resultBytes = 256 * 1024;
  const lb = createLb(t, { workers: 2, highWaterMarkBytes: hwmBytes });
  await lb.ready;
  const items = range(5000, () => ({ op: "repeat", text: "x".repeat(1024), times: resultBytes / 1024 }));
  const it = lb.map(items)[Symbol.asyncIterator]();
  let consumed = 0;
  for (; consumed < 200; consumed++) await it.next();
  // The consumer stalls: whatever is out finishes, and nothing more is taken.
  await waitFor(() => lb.stats().inFlight === 0 && lb.stats().queued === 0, { timeout: 30_000, what: "the tasks out to finish" });
  const held = lb.stats().submitted - consumed;
  t.ok(held * resultBytes <= 2 * hwmBytes, `results held while the consumer stalls: ${held} × 256 KiB (at most twice highWaterMarkBytes)`);
  await it.return();
});

t.test(".send() - an aborted wait for room does not swallow the next waiting send's wake-up", async (t) => {
  const lb = createLb(t, { workers: 1, highWaterMark: 1 });
  await lb.ready;
  const first = await lb.send({ op: "sleep", ms: 200, value: "first" });
  const abort = new AbortController();
  const aborted = lb.send("aborted", { signal: abort.signal });
  const third = lb.send("third");
  abort.abort(new Error("gave up"));
  await t.rejects(aborted, /gave up/);
  t.equal((await lb.receive()).id, first);
  const id = await within(third, 20_000, "the third send");
  t.equal((await lb.receive()).id, id);
});
