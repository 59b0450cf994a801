// The value rule: a value arrives as it was sent, or its task fails with an error that names
// what and where; it never changes silently. Typed arrays, DataView, ArrayBuffer and Error
// round-trip; functions, symbols, Maps, Sets, class instances and circular values fail their own
// task (and nothing else) with the path inside the value.
import t from "tap";
import { TaskError } from "../dist/index.js";
import { decodeValue, encodeValue } from "../dist/wire/codec.js";
import { collect, createLb, fixture, sharedLb } from "./helpers.js";

const shared = sharedLb(t, { workers: 2 });

t.test(".map() - an unencodable input fails that item alone", async (t) => {
  const lb = shared();
  const rows = await collect(lb.map([1, () => "no", 3, new Map([["k", 1]]), new Set([1]), { nested: { fn() {} } }, 2n ** 80n, 7], { settled: true }));
  t.same(rows.map((r) => r.index), [0, 1, 2, 3, 4, 5, 6, 7]);
  t.same(rows.map((r) => r.ok), [true, false, true, false, false, false, false, true]);
  t.same(rows.filter((r) => r.ok).map((r) => r.value), [2, 6, 14]);
  for (const r of rows.filter((row) => !row.ok)) {
    t.ok(r.error instanceof TaskError, `item ${r.index}: a TaskError`);
    t.equal(r.error.index, r.index);
    t.equal(r.error.id, r.id);
    t.match(r.error.message, new RegExp(`item ${r.index} cannot be sent`), `item ${r.index}: the message names the item`);
  }
  t.match(rows[3].error.message, /Map cannot be sent/, "the message names the problem");
  t.match(rows[4].error.message, /Set cannot be sent/);
  t.match(rows[6].error.message, /does not fit in 64 bits/);
});

t.test(".map() - an unencodable input without settled throws a TaskError for that item", async (t) => {
  const lb = shared();
  const seen = [];
  let caught;
  try {
    for await (const v of lb.map([1, 2, new Map(), 4])) seen.push(v);
  } catch (err) {
    caught = err;
  }
  t.same(seen, [2, 4]);
  t.ok(caught instanceof TaskError);
  t.equal(caught.index, 2);
  t.match(caught.message, /Map cannot be sent/);
});

t.test(".map() - an unencodable result fails that task alone", async (t) => {
  const lb = shared();
  const rows = await collect(lb.map([{ op: "unencodable" }, 2, { op: "unencodable" }, 4], { settled: true }));
  t.same(rows.map((r) => r.ok), [false, true, false, true]);
  t.same([rows[1].value, rows[3].value], [4, 8]);
  const err = rows[0].error;
  t.ok(err instanceof TaskError, "a TaskError");
  t.equal(err.index, 0);
  t.match(err.message, /cannot be sent/, "the message says the result cannot be sent");
  t.equal(err.cause.name, "TypeError");
  t.equal(err.cause.code, "ERR_ZEROLB_UNSUPPORTED_VALUE");
  t.match(err.cause.message, /result: a function cannot be sent/);
  // The worker that produced it goes on working.
  t.same(await collect(lb.map([5, 6])), [10, 12]);
});

const roundTrip = (value) => decodeValue(encodeValue(value));

t.test("codec - typed arrays, DataView and ArrayBuffer round-trip with their class and contents", async (t) => {
  const cases = [
    new Float64Array([1.5, -2.25, Number.NaN, Infinity]),
    new Float32Array([0.5]),
    new Int8Array([-1, 1]),
    new Int16Array([-1, 2]),
    new Uint16Array([65535]),
    new Int32Array([-(2 ** 31)]),
    new Uint32Array([2 ** 32 - 1]),
    new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]),
    new BigUint64Array([2n ** 64n - 1n]),
    new Uint8ClampedArray([0, 128, 255]),
    new Float64Array(0),
  ];
  for (const value of cases) {
    const back = roundTrip(value);
    t.equal(Object.getPrototypeOf(back), Object.getPrototypeOf(value), `${value.constructor.name}: same class`);
    t.same([...back], [...value], `${value.constructor.name}: same contents`);
  }
  const window = new Int16Array(new Int16Array([1, 2, 3, 4]).buffer, 2, 2);
  t.same([...roundTrip(window)], [2, 3], "a view into a larger buffer sends only its own elements");
  const view = roundTrip(new DataView(new Uint8Array([1, 2, 3]).buffer, 1));
  t.ok(view instanceof DataView);
  t.same([...new Uint8Array(view.buffer)], [2, 3]);
  const buffer = roundTrip(new Uint8Array([4, 5]).buffer);
  t.ok(buffer instanceof ArrayBuffer);
  t.same([...new Uint8Array(buffer)], [4, 5]);
  t.same(roundTrip({ nested: [new Float64Array([1])] }), { nested: [new Float64Array([1])] }, "inside other values too");
});

t.test("codec - an Error value round-trips as an Error", async (t) => {
  const err = new RangeError("bad", { cause: new Error("root") });
  err.code = "E_BAD";
  err.limit = 3;
  const back = roundTrip({ err });
  t.ok(back.err instanceof RangeError);
  t.equal(back.err.message, "bad");
  t.equal(back.err.code, "E_BAD");
  t.equal(back.err.limit, 3);
  t.equal(back.err.stack, err.stack);
  t.equal(back.err.cause.message, "root");
});

t.test("codec - a value that cannot travel names what and where, without a pre-scan on plain data", async (t) => {
  class Point {
    constructor() {
      this.x = 1;
    }
  }
  const circular = { a: { b: [] } };
  circular.a.b.push(circular.a);
  const getter = { get boom() { throw new Error("no"); } };
  const cases = [
    [{ items: [0, 1, 2, { when: new Point() }] }, "result.items[3].when", /result\.items\[3\]\.when: a Point instance cannot be sent: only plain objects travel/],
    [circular, "result.a.b[0]", /result\.a\.b\[0\]: a circular reference \(back to result\.a\) cannot be sent/],
    [{ "odd key": new Set([1]) }, 'result["odd key"]', /result\["odd key"\]: a Set cannot be sent/],
    [{ n: 2n ** 70n }, "result.n", /result\.n: bigint 1180591620717411303424 does not fit in 64 bits/],
    [{ s: Symbol("x") }, "result.s", /result\.s: a symbol cannot be sent/],
    [{ p: Promise.resolve(1) }, "result.p", /a Promise cannot be sent \(await it first/],
    [{ s: new String("x") }, "result.s", /a boxed String/],
    [getter, "result.boom", /result\.boom: reading it threw: no/],
    [new Map(), "result", /^result: a Map cannot be sent/],
  ];
  for (const [value, path, message] of cases) {
    let caught;
    try {
      encodeValue(value, "result");
    } catch (err) {
      caught = err;
    }
    t.equal(caught?.code, "ERR_ZEROLB_UNSUPPORTED_VALUE", `${path}: its code`);
    t.ok(caught instanceof TypeError, `${path}: a TypeError`);
    t.equal(caught?.path, path, `${path}: the path`);
    t.match(caught?.message, message, `${path}: the message`);
  }
  let deep = "bottom";
  for (let i = 0; i < 150; i++) deep = { down: deep };
  t.throws(() => encodeValue(deep, "input"), { path: `input${".down".repeat(100)}`, message: /nested more than 100 levels deep/ });
  t.same(roundTrip(Object.create(null, { a: { value: 1, enumerable: true } })), { a: 1 }, "a null-prototype object is plain data");
});

t.test("codec - what MessagePack changes on purpose, as documented", async (t) => {
  t.same(roundTrip({ a: undefined, b: [undefined] }), { a: null, b: [null] }, "undefined becomes null (MessagePack has no undefined)");
  t.ok(Object.is(roundTrip(-0), 0), "-0 becomes 0 (it is encoded as the integer 0)");
  const back = roundTrip(Buffer.from("hi"));
  t.equal(Object.getPrototypeOf(back), Uint8Array.prototype, "a Buffer arrives as a Uint8Array (the same bytes)");
  t.same([...back], [104, 105]);
});

t.test(".map() - values a worker returns round-trip or fail that task alone, naming where", async (t) => {
  const lb = createLb(t, { worker: fixture("values.js"), workers: 1 });
  const makes = ["error", "typedArrays", "point", "circular", "deep", "map", "symbol", "undefinedField", "buffer"];
  const rows = await collect(lb.map(makes.map((make) => ({ make })), { settled: true }));
  const by = Object.fromEntries(makes.map((make, i) => [make, rows[i]]));
  t.ok(by.error.ok, "a returned Error is a value, not a failure");
  t.ok(by.error.value.err instanceof RangeError, "it arrives as an Error");
  t.equal(by.error.value.err.code, "E_RANGE");
  t.equal(by.error.value.err.limit, 10);
  t.equal(by.error.value.err.cause.message, "the root");
  const arrays = by.typedArrays.value;
  t.ok(arrays.f64 instanceof Float64Array && arrays.f64[1] === -2.25 && Number.isNaN(arrays.f64[2]), "Float64Array");
  t.same(arrays.i16, new Int16Array([-1, 2, -3]));
  t.same(arrays.u32, new Uint32Array([4_000_000_000]));
  t.same(arrays.big, new BigInt64Array([-(2n ** 63n), 1n]));
  t.ok(arrays.clamped instanceof Uint8ClampedArray);
  t.ok(arrays.view instanceof DataView && arrays.view.getUint8(2) === 7);
  t.ok(arrays.buffer instanceof ArrayBuffer && arrays.buffer.byteLength === 3);
  t.same(arrays.offset, new Float32Array([1, 2]));
  const failed = { point: /result\.items\[3\]\.when: a Point instance cannot be sent/, circular: /result\.list\[2\]: a circular reference \(back to result\)/, deep: /nested more than 100 levels deep/, map: /result\.byKey: a Map cannot be sent/, symbol: /result\.tag: a symbol cannot be sent/ };
  for (const [make, message] of Object.entries(failed)) {
    t.notOk(by[make].ok, `${make}: fails`);
    t.ok(by[make].error instanceof TaskError, `${make}: a TaskError`);
    t.match(by[make].error.message, message, `${make}: says what and where`);
    t.equal(by[make].error.cause.code, "ERR_ZEROLB_UNSUPPORTED_VALUE");
  }
  t.same(by.undefinedField.value, { a: null, b: [null] });
  t.same(by.buffer.value, new Uint8Array([104, 105]));
  t.equal(lb.stats().workerRestarts, 0);
});

t.test(".map() - values sent to a worker round-trip or fail that item alone, naming where", async (t) => {
  const lb = createLb(t, { worker: fixture("values.js"), workers: 1 });
  class When {}
  const err = new TypeError("sent");
  err.code = "E_SENT";
  const items = [new Float64Array([0.25]), err, { at: [1, { when: new When() }] }, new Uint8Array([1]).buffer, 5];
  const rows = await collect(lb.map(items, { settled: true }));
  t.same(rows[0].value, new Float64Array([0.25]), "a Float64Array comes back as one");
  t.ok(rows[1].value instanceof TypeError && rows[1].value.code === "E_SENT", "an Error input reaches the handler as an Error");
  t.notOk(rows[2].ok);
  t.match(rows[2].error.message, /item 2 cannot be sent to a worker: input\.at\[1\]\.when: a When instance cannot be sent/);
  t.ok(rows[3].value instanceof ArrayBuffer);
  t.equal(rows[4].value, 5);
});

t.test(".send() - an input that cannot travel is refused with where it is", async (t) => {
  const lb = createLb(t, { worker: fixture("values.js"), workers: 1 });
  await t.rejects(lb.send({ a: { b: () => 1 } }), { code: "ERR_ZEROLB_UNSUPPORTED_VALUE", path: "input.a.b", message: /input\.a\.b: a function \(b\) cannot be sent/ });
});

t.test("new LoadBalancer() - workerData that cannot travel is refused with where it is", async (t) => {
  const { LoadBalancer } = await import("../dist/index.js");
  t.throws(() => new LoadBalancer({ worker: fixture("values.js"), workers: 1, workerData: { model: { loaded: new Map() } } }), {
    code: "ERR_ZEROLB_INVALID_OPTION", message: /options\.workerData cannot be sent to workers: workerData\.model\.loaded: a Map cannot be sent/,
  });
});
