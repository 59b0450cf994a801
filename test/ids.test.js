// Task ids: a chosen id never collides with a generated one, a known id never runs twice, and
// dependencies name the caller's ids.
import t from "tap";
import { DependencyError } from "../dist/index.js";
import { createLb, lineCount, tmpPath, waitFor, within } from "./helpers.js";

t.test(".send() - a chosen id that is an integer is refused: generated ids are integers", async (t) => {
  const lb = createLb(t, { workers: 1 });
  await lb.ready;
  t.equal(await lb.send(1), "0");
  await t.rejects(lb.send(2, { id: "0" }), { name: "TypeError", code: "ERR_ZEROLB_INVALID_OPTION", message: /integer.*"task-0"/ });
  await t.rejects(lb.send(2, { id: "7" }), { code: "ERR_ZEROLB_INVALID_OPTION" }, "a future generated id too");
  t.equal(await lb.send(3, { id: "07" }), "07", "not an integer as written: taken");
  const got = [await lb.receive(), await lb.receive()].map((r) => r.id).sort();
  t.same(got, ["0", "07"], "one result per id");
});

t.test(".send() - a task that failed its dependency is remembered: its id is known, `after` on it fails", async (t) => {
  const lb = createLb(t, { workers: 1 });
  await lb.ready;
  await lb.send({ op: "throw" }, { id: "parent" });
  t.equal((await lb.receive()).ok, false);
  t.equal(await lb.send(1, { id: "child", after: ["parent"] }), "child");
  const child = await lb.receive();
  t.equal(child.id, "child");
  t.ok(child.error instanceof DependencyError, "the child fails with a DependencyError");
  t.match(child.error.message, /task parent it depends on/, "naming the caller's id of the dependency");
  t.equal(await lb.send(5, { id: "child" }), "child", "sending the id again returns it...");
  const marker = await lb.send(7);
  t.equal((await lb.receive()).id, marker, "...and yields no second result");
  await lb.send(1, { id: "grandchild", after: ["child"] });
  const grandchild = await lb.receive();
  t.ok(grandchild.error instanceof DependencyError, "after on it fails with a DependencyError, not 'unknown id'");
});

t.test("idMemory never forgets an id still pending: sending it again does not run it twice", async (t) => {
  const log = tmpPath(t);
  const lb = createLb(t, { workers: 1, concurrency: 4, idMemory: 2, workerData: { log } });
  await lb.ready;
  await lb.send({ op: "sleep", ms: 600, value: "a" }, { id: "a" });
  for (const id of ["b", "c", "d", "e"]) await lb.send({ op: "sleep", ms: 1, value: id }, { id });
  t.equal(await lb.send({ op: "sleep", ms: 600, value: "a" }, { id: "a" }), "a", "a pending id is known");
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push((await within(lb.receive(), 20_000, `receive ${i}`)).id);
  t.same(ids.sort(), ["a", "b", "c", "d", "e"]);
  t.equal(lineCount(log), 5, "a ran once");
});

t.test("after, around a broker restart: a dependent sent while the broker is down waits for its parent", async (t) => {
  const lb = createLb(t, { workers: 2 });
  await lb.ready;
  const parents = [];
  for (let i = 0; i < 30; i++) parents.push(await lb.send({ op: "sleep", ms: 30, value: `p${i}` }, { id: `p${i}` }));
  const old = lb.pids.broker;
  process.kill(old, "SIGKILL");
  // Sent once the caller knows the broker died and while the new one starts: they reach it
  // before the re-sent parents do.
  await waitFor(() => lb.pids.broker !== old, { what: "a new broker to be started" });
  for (let i = 0; i < 30; i++) await lb.send({ op: "sleep", ms: 1, value: `c${i}` }, { id: `c${i}`, after: [`p${i}`] });
  const results = [];
  for (let i = 0; i < 60; i++) results.push(await within(lb.receive(), 60_000, `receive ${i}`));
  const failed = results.filter((r) => !r.ok);
  t.same(failed.map((r) => `${r.id}: ${r.error.message}`), [], "no dependency failed: the parents succeeded");
  t.equal(new Set(results.map((r) => r.id)).size, 60, "each task once");
});
