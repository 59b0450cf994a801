// The broker's queue by priority (broker/task-queue.ts) and its retry waits (broker/retry-waits.ts),
// as pure logic; and the retry delays (wire/task-controls.ts).
import t from "tap";
import { TaskQueue } from "../dist/broker/task-queue.js";
import { RetryWaits } from "../dist/broker/retry-waits.js";
import { retryDelayFor, taskControls, NO_CONTROLS } from "../dist/wire/task-controls.js";

const task = (seq, priority = 0) => ({ seq, controls: priority === 0 ? NO_CONTROLS : taskControls(0, 100, priority, 1, 2) });

t.test("TaskQueue - higher priority first, FIFO within one, unshift puts a task first of its priority", async (t) => {
  const q = new TaskQueue();
  for (const [seq, p] of [[1, 0], [2, 3], [3, -2], [4, 3], [5, 0]]) q.push(task(seq, p));
  q.unshift(task(6, 0));
  t.equal(q.size, 6);
  t.equal(q.peek().seq, 2);
  const order = [];
  for (let x = q.shift(); x; x = q.shift()) order.push(x.seq);
  t.same(order, [2, 4, 6, 1, 5, 3]);
  t.equal(q.size, 0);
  q.push(task(7));
  t.equal(q.shift().seq, 7, "one level again once the others drained");
});

t.test("RetryWaits - tasks come out when due, earliest first", async (t) => {
  const w = new RetryWaits();
  for (const [seq, at] of [[1, 50], [2, 10], [3, 30], [4, 10], [5, 70]]) w.add({ seq, retryAt: at });
  t.equal(w.next, 10);
  t.equal(w.takeDue(5), undefined, "nothing due yet");
  const due = [];
  for (let x = w.takeDue(40); x; x = w.takeDue(40)) due.push(x.seq);
  t.same(due.sort(), [2, 3, 4]);
  t.equal(w.next, 50);
  t.equal(w.size, 2);
});

t.test("retryDelayFor - doubles from retryDelay, jitter within ±50 %, capped at 30 s", async (t) => {
  const c = taskControls(5, 100, 0, 1, 2);
  t.equal(retryDelayFor(c, 1, 0.5), 100);
  t.equal(retryDelayFor(c, 2, 0.5), 200);
  t.equal(retryDelayFor(c, 3, 0), 200, "-50 %");
  t.equal(retryDelayFor(c, 3, 0.999999) < 600, true, "under +50 %");
  t.equal(retryDelayFor(c, 20, 0.9), 30_000, "never over 30 s");
});

t.test("RateLimit - a sliding window of the last `tasks` dispatch times", async (t) => {
  const { RateLimit } = await import("../dist/broker/rate-limit.js");
  const r = new RateLimit(3, 100);
  t.equal(r.available(0), 3);
  r.record(0, 2);
  t.equal(r.available(50), 1, "two of three used");
  r.record(50, 1);
  t.equal(r.available(99), 0, "none left within the window");
  t.equal(r.nextAt, 100, "the oldest leaves the window at 100");
  t.equal(r.available(100), 2, "both starts at 0 have left it");
  t.equal(r.available(150), 3);
});
