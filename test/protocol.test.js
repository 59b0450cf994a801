// The wire protocol's pure functions: headers, columns, body framing.
import { Encoder } from "@msgpack/msgpack";
import t from "tap";
import { ProtocolError } from "../dist/index.js";
import { at, bodyOffsets, checkColumn, column, seqColumn } from "../dist/wire/columns.js";
import { decodeHeader, encodeHeader, Kind, PROTOCOL_VERSION } from "../dist/wire/protocol.js";

const raw = (value) => new Encoder().encode(value);
const isProtocolError = (pattern) => ({ name: "ProtocolError", code: "ERR_ZEROLB_PROTOCOL", message: pattern });

t.test("encodeHeader() / decodeHeader() - round trip", async (t) => {
  const fields = { seq: [1, 2, 3], len: [4, 0, 7], fn: "triple", to: [0, 10, 0], id: ["a", "", "c"] };
  const h = decodeHeader(encodeHeader(Kind.Submit, fields));
  t.same(h, { v: PROTOCOL_VERSION, k: Kind.Submit, ...fields });
  t.same(decodeHeader(encodeHeader(Kind.StatsRequest)), { v: PROTOCOL_VERSION, k: Kind.StatsRequest });
  t.same(decodeHeader(Buffer.from(encodeHeader(Kind.Cancel, { seq: [9] }))), { v: PROTOCOL_VERSION, k: Kind.Cancel, seq: [9] }, "a Buffer frame decodes too");
});

t.test("decodeHeader() - refuses a wrong protocol version", async (t) => {
  t.throws(() => decodeHeader(raw({ v: PROTOCOL_VERSION + 1, k: Kind.Submit })), isProtocolError(/version/));
  t.throws(() => decodeHeader(raw({ k: Kind.Submit })), isProtocolError(/version/), "no version at all");
});

t.test("decodeHeader() - refuses an unknown kind", async (t) => {
  t.throws(() => decodeHeader(raw({ v: PROTOCOL_VERSION, k: 99 })), isProtocolError(/unknown message kind 99/));
  t.throws(() => decodeHeader(raw({ v: PROTOCOL_VERSION, k: "Submit" })), isProtocolError(/kind/));
  t.throws(() => decodeHeader(raw({ v: PROTOCOL_VERSION })), isProtocolError(/kind/), "no kind at all");
});

t.test("decodeHeader() - refuses garbage", async (t) => {
  t.throws(() => decodeHeader(undefined), isProtocolError(/empty/));
  t.throws(() => decodeHeader(new Uint8Array(0)), isProtocolError(/empty/));
  t.throws(() => decodeHeader(new Uint8Array([0xc1])), isProtocolError(/not MessagePack/), "a byte MessagePack never uses");
  t.throws(() => decodeHeader(Buffer.from("GET / HTTP/1.1\r\n")), ProtocolError, "text");
  t.throws(() => decodeHeader(raw([PROTOCOL_VERSION, Kind.Submit])), isProtocolError(/not a map/), "an array");
  t.throws(() => decodeHeader(raw("hello")), isProtocolError(/not a map/), "a string");
  t.throws(() => decodeHeader(raw(null)), isProtocolError(/not a map/), "nil");
  const truncated = encodeHeader(Kind.Submit, { seq: [1, 2, 3] });
  t.throws(() => decodeHeader(truncated.subarray(0, truncated.length - 2)), ProtocolError, "a truncated header");
  const huge = new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]); // array32 claiming 4 billion entries
  t.throws(() => decodeHeader(huge), ProtocolError, "absurd lengths");
});

t.test("seqColumn() - an array of non-negative integers, or a ProtocolError", async (t) => {
  t.same(seqColumn({ seq: [0, 5, 2 ** 40] }), [0, 5, 2 ** 40]);
  t.same(seqColumn({ seq: [] }), []);
  t.throws(() => seqColumn({}), isProtocolError(/seq/));
  t.throws(() => seqColumn({ seq: 3 }), isProtocolError(/seq/));
  t.throws(() => seqColumn({ seq: [1, -1] }), isProtocolError(/seq/));
  t.throws(() => seqColumn({ seq: [1.5] }), isProtocolError(/seq/));
  t.throws(() => seqColumn({ seq: ["1"] }), isProtocolError(/seq/));
});

t.test("bodyOffsets() - slices the body by len; a len/body mismatch throws", async (t) => {
  const body = new Uint8Array([1, 2, 3, 4, 5, 6]);
  t.same([...bodyOffsets({ len: [2, 0, 4] }, 3, body)], [0, 2, 2, 6]);
  t.same([...bodyOffsets({ len: [] }, 0, undefined)], [0], "no tasks, no body");
  t.throws(() => bodyOffsets({ len: [2, 3] }, 2, body), isProtocolError(/body is 6 bytes, header says 5/), "too short");
  t.throws(() => bodyOffsets({ len: [2, 5] }, 2, body), isProtocolError(/body is 6 bytes, header says 7/), "too long");
  t.throws(() => bodyOffsets({ len: [1] }, 1, undefined), isProtocolError(/body is 0 bytes/), "no body at all");
  t.throws(() => bodyOffsets({ len: [6] }, 2, body), isProtocolError(/len column does not match seq/), "len shorter than seq");
  t.throws(() => bodyOffsets({ len: 6 }, 1, body), isProtocolError(/len column/), "len not an array");
  t.throws(() => bodyOffsets({ len: [7, -1] }, 2, body), isProtocolError(/len holds a non-integer/), "a negative length");
  t.throws(() => bodyOffsets({ len: [3, 3.0001] }, 2, body), isProtocolError(/len/), "a fractional length");
});

t.test("checkColumn() - absent, a scalar, or one entry per task", async (t) => {
  t.doesNotThrow(() => checkColumn({}, "fn", 2, "string"));
  t.doesNotThrow(() => checkColumn({ fn: "x" }, "fn", 2, "string"));
  t.doesNotThrow(() => checkColumn({ fn: ["x", "y"] }, "fn", 2, "string"));
  t.throws(() => checkColumn({ fn: ["x"] }, "fn", 2, "string"), isProtocolError(/fn column is malformed/));
  t.throws(() => checkColumn({ fn: ["x", 1] }, "fn", 2, "string"), ProtocolError);
  t.throws(() => checkColumn({ to: "10" }, "to", 1, "number"), ProtocolError);
});

t.test("column() / at() - all-equal columns travel as one scalar", async (t) => {
  t.equal(column(["a", "a", "a"]), "a");
  t.equal(column([7]), 7);
  t.same(column(["a", "b", "a"]), ["a", "b", "a"]);
  t.same(column([]), []);
  t.equal(at("a", 5, "z"), "a", "a scalar applies to every task");
  t.equal(at(["a", "b"], 1, "z"), "b");
  t.equal(at(["a", "b"], 5, "z"), "z", "past the end: the fallback");
  t.equal(at(undefined, 0, "z"), "z", "absent: the fallback");
  t.equal(at([0, 3], 0, 9), 0, "a falsy entry is kept");
  for (const values of [["x", "x"], ["x", "y"], [1, 2, 3], [0, 0]]) {
    const col = column(values);
    t.same(values.map((_, i) => at(col, i, undefined)), values, `round trip of ${JSON.stringify(values)}`);
  }
});

t.test("BodyRanges: back-to-back ranges of one buffer merge; others are joined by copy", async (t) => {
  const { BodyRanges } = await import("../dist/wire/body-ranges.js");
  const a = Buffer.from("abcdef");
  const b = Buffer.from("XYZ");
  const body = new BodyRanges();
  body.add(a, 0, 2);
  body.add(a, 2, 4); // continues the first range
  const one = body.take();
  t.equal(Buffer.from(one).toString(), "abcd");
  t.equal(one.buffer, a.buffer, "one range is a view, not a copy");
  body.add(a, 4, 6);
  body.add(b, 0, 3);
  body.add(a, 0, 1); // not after the previous range: a new one
  t.equal(Buffer.from(body.take()).toString(), "efXYZa");
  t.equal(body.take().length, 0, "take() cleared the ranges");
  body.add(a, 0, 0);
  body.add(a, 0, 2); // an empty range is harmless
  t.equal(Buffer.from(body.take()).toString(), "ab");
});
