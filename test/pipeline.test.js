// Dependencies between tasks: Pipelines (a DAG of jobs per map item) and send({ after }), their
// DOT export (toDot(), lb.graph(), `zerolb dot`), and how failures, cancels and timeouts travel.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { CancelledError, DependencyError, Pipeline, TaskError, TimeoutError } from "../dist/index.js";
import { collect, createLb, fixture, range, sharedLb, tmpDir, tmpPath, within } from "./helpers.js";

const crawl = fixture("crawl.js");
// One LoadBalancer for the tests that leave it as they found it (each receives what it sends; the
// ids of their `send` tasks are distinct).
const runLog = tmpPath(t, "runs");
const shared = sharedLb(t, { worker: crawl, workers: 2, workerData: { log: runLog } });
// For tests where one task runs (held by a gate) while others must go on: two slots in one worker.
const twoSlots = sharedLb(t, { worker: crawl, workers: 1, concurrency: 2 });
/** Lines of the jobs' run log that name `job`. */
const runsOf = (job) => (existsSync(runLog) ? readFileSync(runLog, "utf8").split("\n").filter((l) => l === job).length : 0);
const crawler = () =>
  new Pipeline({
    fetch: {},
    text: { after: ["fetch"] },
    links: { fn: "extractLinks", after: ["fetch"] },
    store: { after: ["text", "links"] },
  });

t.test("new Pipeline() - rejects a cycle, an unknown name and an empty graph, naming the problem", async (t) => {
  t.throws(() => new Pipeline({}), { name: "TypeError", message: /no jobs/ });
  t.throws(() => new Pipeline({ a: { after: ["zzz"] } }), { name: "TypeError", message: /unknown job "zzz"/ });
  t.throws(() => new Pipeline({ a: { after: ["b"] }, b: { after: ["c"] }, c: { after: ["a"] } }), { name: "TypeError", message: /cycle: a -> b -> c -> a/ });
  t.throws(() => new Pipeline({ a: { after: ["a"] } }), { name: "TypeError", message: /cycle: a -> a/ });
  t.throws(() => new Pipeline({ a: { fn: "" } }), { name: "TypeError", message: /fn must be a non-empty string/ });
  t.same(crawler().sinks, ["store"]);
});

t.test(".toDot() - a node per job, labelled with its fn when it differs, an edge per dependency", async (t) => {
  const dot = crawler().toDot();
  t.match(dot, /"links" \[label="links\\n\(extractLinks\)"\]/);
  t.match(dot, /"text" \[label="text"\]/);
  for (const edge of ['"fetch" -> "text"', '"fetch" -> "links"', '"text" -> "store"', '"links" -> "store"']) t.ok(dot.includes(edge), edge);
  t.equal(dot.match(/->/g).length, 4);
  let hasDot = true;
  try {
    execFileSync("dot", ["-V"], { stdio: "ignore" });
  } catch {
    hasDot = false;
  }
  if (hasDot) t.match(execFileSync("dot", ["-Tsvg"], { input: dot }).toString(), /<svg/, "Graphviz accepts it");
  else t.comment("Graphviz is not installed here: the DOT text was checked by pattern only");
});

t.test(".map({ pipeline }) - a diamond passes both parents' results keyed by job name", async (t) => {
  const lb = shared();
  const out = await collect(lb.map(["http://a", "http://b"], { pipeline: crawler() }));
  t.same(out, [{ store: { words: 2, links: 2 } }, { store: { words: 2, links: 2 } }]);
});

t.test(".map({ pipeline }) - a job name that differs from its fn; one function in several jobs", async (t) => {
  const lb = shared();
  const pipeline = new Pipeline({ first: { fn: "echo" }, second: { fn: "echo", after: ["first"] }, third: { fn: "echo", after: ["first"] } });
  t.same(await collect(lb.map([1, "x"], { pipeline })), [{ second: 1, third: 1 }, { second: "x", third: "x" }]);
});

t.test(".map({ pipeline }) - 10,000 items come back correct and in order", async (t) => {
  const lb = shared();
  const pipeline = new Pipeline({ a: { fn: "echo" }, b: { fn: "echo", after: ["a"] }, c: { fn: "echo", after: ["b"] } });
  t.same(await collect(lb.map(range(10000), { pipeline })), range(10000, (i) => ({ c: i })));
});

t.test(".map({ pipeline }) - SIGKILL of workers mid-pipeline: every item's sink result comes back once and right", async (t) => {
  const lb = createLb(t, { worker: crawl, workers: 2 });
  await lb.ready;
  // Three stages, each adding its own mark, so a job run on the wrong input shows in the result.
  const pipeline = new Pipeline({ a: { fn: "tag" }, b: { fn: "tag", after: ["a"] }, c: { fn: "tag", after: ["b"] } });
  const killAt = new Set([1000, 3000]);
  const results = [];
  for await (const r of lb.map(range(5000, (i) => ({ n: i, path: "" })), { pipeline })) {
    results.push(r);
    if (killAt.has(results.length)) {
      const [victim] = lb.pids.workers;
      if (victim) process.kill(victim, "SIGKILL");
    }
  }
  t.same(results, range(5000, (i) => ({ c: { n: i, path: "abc" } })), "every item went a, b, c once, in order");
  t.ok(lb.stats().retried > 0, "workers were killed holding jobs, which ran again elsewhere");
  t.equal(lb.stats().failed, 0);
});

t.test(".map({ pipeline, settled }) - a failing job fails its item alone, with its dependents not run", async (t) => {
  const lb = shared();
  const stores = runsOf("store");
  const texts = runsOf("text");
  const rows = await collect(lb.map(["http://ok", "http://bad", "http://ok2"], { pipeline: crawler(), settled: true }));
  t.same(rows.map((r) => r.ok), [true, false, true]);
  t.equal(runsOf("text") - texts, 2, "text ran for the two good items only");
  t.equal(runsOf("store") - stores, 2, "store too: the failed item's dependents did not run");
  t.ok(rows[1].error instanceof TaskError);
  t.match(rows[1].error.message, /job "fetch" failed: cannot fetch http:\/\/bad/);
  t.equal(rows[1].error.cause.job, "fetch");
});

t.test(".map({ pipeline }) - items stream: the first result arrives long before the last job of item 100 runs", async (t) => {
  const lb = shared();
  const pipeline = new Pipeline({ one: { fn: "timed" }, two: { fn: "timed", after: ["one"] } });
  const items = range(100, () => ({ ms: 5 }));
  const rows = await collect(lb.map(items, { pipeline }));
  // With a stage barrier every `one` would run before any `two`.
  // `two` returns its input (the result of `one`) as `data`.
  t.ok(rows[0].two.end <= rows[99].two.data.start, "item 0 was finished before item 99 started");
});

t.test(".send({ after }) - a dependent starts only after its dependency has finished", async (t) => {
  const lb = shared();
  await lb.send({ ms: 100 }, { id: "a", fn: "timed" });
  await lb.send({ ms: 10 }, { id: "b", fn: "timed", after: ["a"] });
  const got = {};
  for (let i = 0; i < 2; i++) {
    const r = await lb.receive();
    got[r.id] = r.value;
  }
  t.ok(got.b.start >= got.a.end, `b started at ${got.b.start}, a ended at ${got.a.end}`);
});

t.test(".send({ after }) - failure cascades through two levels with DependencyError, without running", async (t) => {
  const lb = shared();
  await lb.send(1, { id: "f", fn: "fail" });
  await lb.send(1, { id: "g", fn: "echo", after: ["f"] });
  await lb.send(1, { id: "h", fn: "echo", after: ["g"] });
  const got = {};
  for (let i = 0; i < 3; i++) {
    const r = await lb.receive();
    got[r.id] = r;
  }
  t.equal(got.f.error.code, "ERR_ZEROLB_TASK_FAILED");
  t.ok(got.g.error instanceof DependencyError);
  t.match(got.g.error.message, /task f it depends on did not succeed/);
  t.ok(got.h.error instanceof DependencyError);
  t.match(got.h.error.message, /task g it depends on/);
  t.match(lb.graph(), /"f" -> "g"/);
  t.match(lb.graph(), /"h" \[label="h\\nfailed"/);
});

t.test(".send({ after }) - an unknown id or a cycle is an immediate error", async (t) => {
  const lb = shared();
  await t.rejects(lb.send(1, { after: ["never-sent"] }), { name: "TypeError", message: /unknown task id "never-sent"/ });
  await t.rejects(lb.send(1, { id: "self", after: ["self"] }), { name: "TypeError", message: /cannot run after itself/ });
});

t.test(".send({ after }) - a dependency that completed long ago still counts", async (t) => {
  const lb = shared();
  await lb.send(1, { id: "old", fn: "echo" });
  await lb.receive();
  await lb.send(2, { id: "new", fn: "echo", after: ["old"] });
  t.same(await lb.receive(), { id: "new", ok: true, value: 2 });
});

t.test(".send({ after }) - a task waiting on a dependency holds up no ready task; lb.graph() shows it pending, then done", async (t) => {
  const lb = twoSlots();
  const gate = tmpPath(t, "gate");
  await lb.send({ path: gate, value: "parent" }, { id: "hold-parent", fn: "until" });
  await lb.send("child", { id: "hold-child", fn: "echo", after: ["hold-parent"] });
  await lb.send("ready", { id: "hold-ready", fn: "echo" });
  // The parent runs until the gate opens; its dependent waits outside the queue; the ready task,
  // sent after the dependent, runs at once in the worker's other slot.
  t.same(await within(lb.receive(), 60_000, "the first outcome"), { id: "hold-ready", ok: true, value: "ready" });
  t.match(lb.graph(), /"hold-child" \[label="hold-child\\npending"/, "the dependent is pending");
  t.match(lb.graph(), /"hold-parent" -> "hold-child"/);
  writeFileSync(gate, "");
  const rest = [await within(lb.receive(), 60_000, "an outcome"), await within(lb.receive(), 60_000, "an outcome")];
  t.same(rest.map((r) => [r.id, r.value]), [["hold-parent", "parent"], ["hold-child", "child"]], "then the parent, then its dependent");
  t.match(lb.graph(), /"hold-child" \[label="hold-child\\ndone"/, "both are done");
  t.match(lb.graph(), /"hold-parent" \[label="hold-parent\\ndone"/);
});

t.test(".send({ after }) - a dependency cancelled or timed out fails its dependents with DependencyError", async (t) => {
  const lb = twoSlots();
  const never = tmpPath(t, "never");
  const controller = new AbortController();
  await lb.send({ path: never }, { id: "to-cancel", fn: "until", signal: controller.signal });
  await lb.send(1, { id: "after-cancelled", fn: "echo", after: ["to-cancel"] });
  controller.abort();
  await lb.send({ path: never }, { id: "to-time-out", fn: "until", timeout: 200 });
  await lb.send(1, { id: "after-timed-out", fn: "echo", after: ["to-time-out"] });
  const got = {};
  for (let i = 0; i < 4; i++) {
    const r = await within(lb.receive(), 60_000, "an outcome");
    got[r.id] = r;
  }
  t.ok(got["to-cancel"].error instanceof CancelledError);
  t.ok(got["after-cancelled"].error instanceof DependencyError, "the dependent of a cancelled task fails with a DependencyError");
  t.match(got["after-cancelled"].error.message, /did not run/);
  t.ok(got["to-time-out"].error instanceof TimeoutError);
  t.ok(got["after-timed-out"].error instanceof DependencyError, "the dependent of a timed-out task too");
});

t.test(".map({ pipeline, timeout }) - a job past the timeout fails its item with a TimeoutError naming the job", async (t) => {
  const lb = twoSlots();
  const never = tmpPath(t, "never");
  const pipeline = new Pipeline({ slow: { fn: "until" }, last: { fn: "echo", after: ["slow"] } });
  const rows = await collect(lb.map([{ path: never }], { pipeline, timeout: 200, settled: true }));
  t.equal(rows.length, 1);
  t.equal(rows[0].ok, false);
  t.ok(rows[0].error instanceof TimeoutError, "a TimeoutError");
  t.equal(rows[0].error.cause?.job, "slow", "naming the job");
});

t.test(".map({ pipeline, signal }) - aborting ends the iterator with the signal's reason", async (t) => {
  const lb = twoSlots();
  const never = tmpPath(t, "never");
  const pipeline = new Pipeline({ first: { fn: "echo" }, second: { fn: "until", after: ["first"] } });
  const controller = new AbortController();
  const reason = new Error("stop the pipeline");
  const items = [{ path: never }, { path: never }, { path: never }];
  const it = lb.map(items, { pipeline, signal: controller.signal });
  const next = it.next();
  controller.abort(reason);
  await t.rejects(within(next, 60_000, "the pending next()"), reason, "the pending next() rejects with the reason itself");
});

t.test(".map({ pipeline }) - the highWaterMark window counts items", async (t) => {
  const lb = createLb(t, { worker: crawl, workers: 1, highWaterMark: 6 });
  const pipeline = new Pipeline({ a: { fn: "echo" }, b: { fn: "echo", after: ["a"] }, c: { fn: "echo", after: ["a"] } });
  let pulled = 0;
  function* endless() {
    for (let i = 0; ; i++) {
      pulled++;
      yield i;
    }
  }
  const it = lb.map(endless(), { pipeline });
  for (let i = 0; i < 30; i++) {
    t.same((await it.next()).value, { b: i, c: i });
    if (pulled - (i + 1) > 6) t.fail(`pulled ${pulled} items with ${i + 1} consumed`);
  }
  t.ok(pulled <= 30 + 6, `never more than 6 items ahead, however many jobs each has (pulled ${pulled})`);
  await it.return();
});

t.test("zerolb dot - prints the DOT of the Pipeline a module exports; exit 2 when there is none", async (t) => {
  const { execFileSync, spawnSync } = await import("node:child_process");
  const cli = new URL("../dist/cli.js", import.meta.url).pathname;
  const example = new URL("../examples/pipeline/pipeline.js", import.meta.url).pathname;
  const dot = execFileSync(process.execPath, [cli, "dot", example, "--name", "crawler"]).toString();
  t.match(dot, /^digraph "crawler" \{/);
  t.match(dot, /"links" \[label="links\\n\(extractLinks\)"\]/);
  t.equal(dot.match(/->/g).length, 4);
  const none = spawnSync(process.execPath, [cli, "dot", fixture("ops.js")]);
  t.equal(none.status, 2);
  t.match(none.stderr.toString(), /no exported Pipeline/);
  // A module whose Pipelines are the default export and one named `other`: --export picks one.
  const module = join(tmpDir(t), "pipelines.mjs");
  writeFileSync(module, `import { Pipeline } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
export default new Pipeline({ only: {} });
export const other = new Pipeline({ first: {}, second: { after: ["first"] } });\n`);
  t.match(execFileSync(process.execPath, [cli, "dot", module]).toString(), /"only"/, "the default export");
  const other = execFileSync(process.execPath, [cli, "dot", module, "--export", "other"]).toString();
  t.match(other, /"first" -> "second"/, "--export names another");
  t.notMatch(other, /"only"/);
});
