// The pacer of zerolb map (how far reading runs ahead of the results written), without processes:
// it keeps about `targetMs` of work ahead from the measured rate, between `min` and `max`.
import t from "tap";
import { Pacer } from "../dist/cli/pacer.js";

t.test("Pacer - a whole window of results back before the first tick opens the window at once", async (t) => {
  const pacer = new Pacer({ min: 16, max: 1024, targetMs: 500 });
  t.teardown(() => pacer.release());
  t.equal(pacer.window, 16, "starts at min");
  for (let i = 0; i < 15; i++) pacer.result();
  t.equal(pacer.window, 16, "less than a window back: unchanged until a tick measures");
  pacer.result();
  // 16 results within a few ms is at least 16 per 100 ms tick: 500 ms of that is at least 80.
  t.ok(pacer.window >= 80, `16 results at once opened the window to ${pacer.window}`);
  t.ok(pacer.window <= 1024, "never above max");
});

t.test("Pacer - room() is undefined while fewer than a window are ahead, else a wait that a result ends", async (t) => {
  const pacer = new Pacer({ min: 2, max: 2, targetMs: 500 });
  t.teardown(() => pacer.release());
  let ahead = 1;
  t.equal(pacer.room(() => ahead), undefined, "1 ahead of a window of 2: room, and no promise");
  ahead = 2;
  const wait = pacer.room(() => ahead);
  t.ok(wait instanceof Promise, "2 ahead: a wait");
  let ended = false;
  void wait.then(() => (ended = true));
  ahead = 1;
  pacer.result();
  await wait;
  t.ok(ended, "a result with fewer ahead ends the wait");
});
