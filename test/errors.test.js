// Errors cross processes whole: name, message, stack, code, the cause chain, an AggregateError's
// errors and own data fields reach the caller; a thrown non-Error is described by its type and a
// JSON rendering; and no thrown value, however hostile, is lost, breaks its batch or its worker.
import t from "tap";
import { TaskError, WorkerExitError } from "../dist/index.js";
import { decodeValue, encodeValue } from "../dist/wire/codec.js";
import { deserializeError, serializeError } from "../dist/wire/error-wire.js";
import { collect, createLb, fixture } from "./helpers.js";

/** What the caller gets for `err` thrown in a worker: serialized, sent as MessagePack, rebuilt. */
const acrossProcesses = (err) => deserializeError(decodeValue(encodeValue(serializeError(err))));

t.test("serializeError() / deserializeError() - keep the cause chain, recursively", async (t) => {
  const root = new Error("connection refused");
  root.code = "ECONNREFUSED";
  const top = new RangeError("request failed", { cause: new TypeError("query failed", { cause: root }) });
  const back = acrossProcesses(top);
  t.ok(back instanceof RangeError, "the built-in class is rebuilt");
  t.equal(back.message, "request failed");
  t.equal(back.stack, top.stack, "the stack as the worker saw it");
  t.ok(back.cause instanceof TypeError, "the cause is an Error again");
  t.equal(back.cause.message, "query failed");
  t.equal(back.cause.cause.message, "connection refused");
  t.equal(back.cause.cause.code, "ECONNREFUSED");
  t.notOk(Object.keys(back).includes("cause"), "cause is own and non-enumerable, as on a native error");
});

t.test("serializeError() / deserializeError() - keep an AggregateError's errors", async (t) => {
  const back = acrossProcesses(new AggregateError([new TypeError("a"), new RangeError("b"), 42], "many"));
  t.ok(back instanceof AggregateError);
  t.equal(back.message, "many");
  t.equal(back.errors.length, 3);
  t.ok(back.errors[0] instanceof TypeError);
  t.equal(back.errors[1].message, "b");
  t.equal(back.errors[2], 42, "a value that is not an Error stays data");
});

t.test("serializeError() - keeps own data fields, nested objects and arrays too, and drops the rest", async (t) => {
  const err = new Error("upstream");
  err.status = 503;
  err.response = { status: 503, headers: { "retry-after": "5" }, body: [1, { two: 2 }], at: new Date(0), bytes: new Uint8Array([1, 2]) };
  err.big = 12n;
  err.huge = 2n ** 80n;
  err.fn = () => {};
  err.sym = Symbol("s");
  err.undef = undefined;
  err.map = new Map([[1, 2]]);
  const back = acrossProcesses(err);
  t.equal(back.status, 503);
  t.same(back.response, { status: 503, headers: { "retry-after": "5" }, body: [1, { two: 2 }], at: new Date(0), bytes: new Uint8Array([1, 2]) });
  t.equal(back.big, 12n);
  t.equal(back.huge, (2n ** 80n).toString(), "a bigint past 64 bits as its digits");
  for (const key of ["fn", "sym", "undef", "map"]) t.notOk(key in back, `${key} is not data: left out`);
});

t.test("serializeError() - describes a thrown non-Error by its type and a JSON rendering", async (t) => {
  const cases = [
    [{ status: 503, reason: "busy" }, 'non-error thrown (object): {"status":503,"reason":"busy"}', { status: 503, reason: "busy" }],
    ["boom", 'non-error thrown (string): "boom"', "boom"],
    [42, "non-error thrown (number): 42", 42],
    [null, "non-error thrown (null): null", null],
    [undefined, "non-error thrown (undefined): undefined", undefined],
    [[1, 2], "non-error thrown (array): [1,2]", [1, 2]],
    [10n, "non-error thrown (bigint): 10", 10n],
  ];
  for (const [value, message, thrown] of cases) {
    const s = serializeError(value);
    t.equal(s.message, message);
    t.same(s.thrown, thrown, `${message}: the value itself travels as data`);
  }
  const circular = { a: 1 };
  circular.self = circular;
  t.equal(serializeError(circular).message, 'non-error thrown (object): {"a":1,"self":"[Circular]"}', "a cycle is rendered, not a throw");
});

t.test("serializeError() - never throws, whatever it is given", async (t) => {
  const throwingGetter = new Error("getter");
  Object.defineProperty(throwingGetter, "detail", { enumerable: true, get() { throw new Error("no"); } });
  const trap = () => {
    throw new Error("trap");
  };
  const proxy = new Proxy({}, { get: trap, getPrototypeOf: trap, ownKeys: trap, has: trap, getOwnPropertyDescriptor: trap });
  const proxiedError = new Proxy(new Error("proxied"), { get: trap, ownKeys: trap, getOwnPropertyDescriptor: trap });
  const a = new Error("a");
  a.cause = new Error("b", { cause: a });
  let deep = new Error("0");
  for (let i = 1; i < 100; i++) deep = new Error(String(i), { cause: deep });
  const thenable = { get then() { throw new Error("then"); } };
  class NameThrows extends Error {
    get name() {
      throw new Error("name");
    }
  }
  const wide = new Error("wide");
  wide.list = Array.from({ length: 100_000 }, (_, i) => ({ i }));
  for (const [what, value] of Object.entries({ throwingGetter, proxy, proxiedError, circularCause: a, deep, thenable, nameThrows: new NameThrows("n"), wide })) {
    let out;
    t.doesNotThrow(() => (out = serializeError(value)), `${what}: does not throw`);
    t.type(out.message, "string", `${what}: still has a message`);
    t.doesNotThrow(() => encodeValue(out), `${what}: the result encodes`);
  }
  t.equal(serializeError(throwingGetter).message, "getter");
  t.notOk("detail" in serializeError(throwingGetter), "the field that throws is left out");
  t.equal(serializeError(a).cause.cause, "[Circular]", "a circular cause ends the chain");
  let depth = 0;
  for (let c = serializeError(deep); c?.cause; c = c.cause) depth++;
  t.ok(depth <= 16, `the chain is bounded (${depth})`);
  t.ok(serializeError(wide).list.length <= 1025, "a large field is bounded");
});

t.test(".map() - a thrown error reaches the caller whole, from a real worker", async (t) => {
  const lb = createLb(t, { worker: fixture("odd-errors.js"), workers: 1 });
  const rows = await collect(lb.map(["rich", "aggregate", "plainObject", "string", "causeNotAnError", "circularCause", "deepCause"], { settled: true }));
  const [rich, aggregate, plainObject, string, dataCause, circular, deep] = rows.map((r) => r.error);
  t.ok(rich instanceof TaskError);
  const cause = rich.cause;
  t.ok(cause instanceof RangeError, "name and class");
  t.equal(cause.message, "request failed");
  t.equal(cause.code, "E_UPSTREAM");
  t.equal(cause.status, 503);
  t.equal(cause.retryable, false);
  t.same(cause.response, { status: 503, headers: { "retry-after": "5" }, body: [1, "two", { three: 3 }], at: new Date(0) });
  t.notOk("callback" in cause, "a function field is left out");
  t.match(cause.stack, /RangeError: request failed\n\s+at Object\.rich/, "the worker's stack");
  t.ok(cause.cause instanceof TypeError, "its cause");
  t.equal(cause.cause.cause.message, "connection refused", "and its cause's cause");
  t.equal(cause.cause.cause.code, "ECONNREFUSED");
  t.equal(cause.cause.cause.port, 5432);

  t.ok(aggregate.cause instanceof AggregateError);
  t.same(aggregate.cause.errors.map((e) => (e instanceof Error ? `${e.name}: ${e.message}` : e)), ["TypeError: first", "RangeError: second", "a plain string"]);

  t.equal(plainObject.cause.message, 'non-error thrown (object): {"status":503,"reason":"busy"}');
  t.same(plainObject.cause.thrown, { status: 503, reason: "busy" });
  t.equal(string.cause.message, 'non-error thrown (string): "boom"');
  t.same(dataCause.cause.cause, { status: 404, url: "/x" }, "a cause that is not an Error stays data");
  t.equal(circular.cause.cause.cause, "[Circular]");
  t.equal(deep.cause.message, "level 49");
});

t.test(".map() - odd thrown values fail their own task; the batch and the worker go on", async (t) => {
  // Before: a thenable whose `then` getter or call threw dropped the rest of its batch (the map
  // hung), and a rejection with an error whose getter throws killed the worker (WorkerExitError).
  const lb = createLb(t, { worker: fixture("odd-errors.js"), workers: 1 });
  await lb.ready;
  const [pid] = lb.pids.workers;
  const odd = ["getterThrows", "nameGetterThrows", "proxy", "thenGetterThrows", "thenCallThrows", "rejectOdd", "rejectProxy", "undefined"];
  const items = [];
  for (let i = 0; i < odd.length; i++) items.push(i, odd[i]);
  items.push(100, "thenResolvesAtOnce", 101);
  const rows = await collect(lb.map(items, { settled: true }));
  t.equal(rows.length, items.length, "every task has its outcome");
  for (const [i, row] of rows.entries()) {
    const item = items[i];
    if (typeof item === "number") t.same(row, { index: i, id: row.id, ok: true, value: item * 2 }, `${item}: ordinary, succeeds`);
    else if (item === "thenResolvesAtOnce") t.same(row.value, 7, "a thenable that resolves inside then() succeeds");
    else {
      t.notOk(row.ok, `${item}: fails`);
      t.ok(row.error instanceof TaskError && !(row.error instanceof WorkerExitError), `${item}: a TaskError, not a WorkerExitError`);
      t.type(row.error.cause?.message, "string", `${item}: with a message`);
    }
  }
  t.match(rows[7].error.cause.message, /then getter threw/);
  t.match(rows[9].error.cause.message, /then\(\) threw/);
  t.equal(rows[11].error.cause.message, "has a throwing getter");
  t.equal(lb.stats().workerRestarts, 0, "no worker restart");
  t.same(lb.pids.workers, [pid], "the same worker process throughout");
  t.same(await collect(lb.map([1, 2, 3])), [2, 4, 6], "and it takes the next map (no slot lost)");
});
