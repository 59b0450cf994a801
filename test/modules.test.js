// Handler modules: CommonJS and ES modules, named handlers chosen with `fn`.
import { pathToFileURL } from "node:url";
import t from "tap";
import { TaskError } from "../dist/index.js";
import { collect, createLb, fixture, sharedLb } from "./helpers.js";

// One ops.js LoadBalancer for the tests of named handlers (they leave nothing running).
const ops = sharedLb(t, { workers: 2 });

t.test("worker - a .cjs handler module loads, with setup() and a named export", async (t) => {
  const lb = createLb(t, { worker: fixture("handler.cjs"), workers: 1 });
  t.same(await collect(lb.map([1, "a"])), [{ kind: "cjs", x: 1, setupCalls: 1 }, { kind: "cjs", x: "a", setupCalls: 1 }]);
  t.same(await collect(lb.map([1, 2], { fn: "negate" })), [-1, -2]);
});

t.test("worker - a .mjs handler module loads, given as a file URL", async (t) => {
  const lb = createLb(t, { worker: pathToFileURL(fixture("handler.mjs")), workers: 1 });
  t.same(await collect(lb.map([5])), [{ kind: "mjs", x: 5 }]);
  t.same(await collect(lb.map([5], { fn: "square" })), [25]);
});

t.test(".map() - fn picks a named export", async (t) => {
  const lb = ops();
  t.same(await collect(lb.map([1, 2, 3], { fn: "triple" })), [3, 6, 9]);
  t.same(await collect(lb.map([1, 2, 3])), [2, 4, 6], "the default export otherwise");
});

t.test(".send() - fn picks a named export", async (t) => {
  const lb = ops();
  await lb.ready;
  const id = await lb.send(7, { fn: "triple" });
  t.same(await lb.receive(), { id, ok: true, value: 21 });
});

t.test(".map() - an unknown fn fails the task with a clear message", async (t) => {
  const lb = ops();
  const rows = await collect(lb.map([1, 2], { fn: "quadruple", settled: true }));
  t.same(rows.map((r) => r.ok), [false, false]);
  const err = rows[0].error;
  t.ok(err instanceof TaskError, "a TaskError");
  t.match(err.message, /no exported function named "quadruple"/, "names the missing function");
  t.match(err.message, /ops\.js/, "names the module");
  t.match(err.message, /triple/, "lists the functions there are");
  t.same(await collect(lb.map([1])), [2], "the worker goes on");
});

t.test(".map() - fn cannot name setup or teardown", async (t) => {
  const lb = ops();
  for (const fn of ["setup", "teardown"]) {
    const [row] = await collect(lb.map([1], { fn, settled: true }));
    t.equal(row.ok, false, `fn: "${fn}" is refused`);
    t.match(row.error.message, new RegExp(`"${fn}"`));
  }
});

t.test(".map() - invalid map options throw a TypeError", async (t) => {
  const lb = ops();
  t.throws(() => lb.map([1], { fn: "" }), TypeError);
  t.throws(() => lb.map([1], { timeout: 0 }), TypeError);
  t.throws(() => lb.map([1], null), TypeError);
  t.throws(() => lb.map(42), TypeError);
  t.throws(() => lb.map(null), TypeError);
});
