// Bodies in several frames (lib/wire/body-parts.ts): the caller's chunked writer gives a large value a
// buffer of its own instead of growing one by a copy; the broker forwards large ranges as views of
// the frames they came in and joins only runs of small ones; readers find each value in its frame
// and refuse a value that straddles two.
import { encode } from "@msgpack/msgpack";
import t from "tap";
import { BodyParts, ValueSpans } from "../dist/wire/body-parts.js";
import { BodyRanges } from "../dist/wire/body-ranges.js";
import { BodyWriter, LARGE_VALUE } from "../dist/wire/body-writer.js";
import { appendValue } from "../dist/wire/codec.js";
import { ValueReader } from "../dist/wire/value-reader.js";
import { ProtocolError } from "../dist/index.js";

const offsetsOf = (lengths) => {
  const offsets = new Uint32Array(lengths.length + 1);
  lengths.forEach((n, i) => (offsets[i + 1] = offsets[i] + n));
  return offsets;
};

const large = (fill) => Buffer.alloc(LARGE_VALUE + 100, fill);
const values = [1, "small", large(1), { a: 2 }, large(2), large(3), "x".repeat(300), [4]];

t.test("chunked writer - each large value in a frame of its own, small ones together; read back in order", async (t) => {
  const writer = new BodyWriter(64, { chunked: true });
  for (const v of values) appendValue(writer, v);
  t.equal(writer.byteLength, values.reduce((sum, v) => sum + encode(v).length, 0), "byteLength counts every frame");
  const { frames, lengths } = writer.takeFrames();
  t.same(lengths, values.map((v) => encode(v).length), "the lengths of the values, as the encoder writes them");
  // A small value after a large one starts a new frame: the large one's buffer holds it alone.
  t.same(frames.map((f) => f.length), [encode(1).length + encode("small").length, encode(values[2]).length, encode(values[3]).length, encode(values[4]).length, encode(values[5]).length, encode(values[6]).length + encode([4]).length]);
  const reader = new ValueReader(new BodyParts(frames), offsetsOf(lengths));
  const comparable = (v) => (v instanceof Uint8Array ? `${v.length} bytes: ${Buffer.from(v.buffer, v.byteOffset, v.length).toString("base64")}` : v);
  t.same(values.map((_, i) => comparable(reader.read(i))), values.map(comparable), "every value reads back");
  reader.close();
  t.same(writer.takeFrames(), { frames: [], lengths: [] }, "an empty body after take: no frames");
});

t.test("chunked writer - a large value's bytes are copied once, into a buffer sized for it", async (t) => {
  const writer = new BodyWriter(64, { chunked: true });
  const input = large(7);
  appendValue(writer, input);
  input.fill(9); // the caller's buffer changes after the task was submitted: the body keeps what was sent
  const { frames } = writer.takeFrames();
  t.equal(frames.length, 1);
  t.equal(frames[0].length, encode(large(7)).length, "header and bytes, nothing more");
  t.ok(Buffer.from(frames[0]).equals(Buffer.from(encode(large(7)))), "the bytes as they were when appended");
});

t.test("BodyRanges.takeFrames - large ranges go as views of their buffers, runs of small ones are joined", async (t) => {
  const a = Buffer.from(encode([1, 2, 3]));
  const b = Buffer.from(encode("four"));
  const big = Buffer.alloc(LARGE_VALUE * 2, 5);
  const ranges = new BodyRanges();
  ranges.add(a, 0, a.length);
  ranges.add(b, 0, b.length);
  ranges.add(big, 10, 10 + LARGE_VALUE);
  ranges.add(a, 0, a.length);
  const frames = ranges.takeFrames();
  t.equal(frames.length, 3);
  t.ok(Buffer.from(frames[0]).equals(Buffer.concat([a, b])), "the two small ranges joined");
  t.equal(frames[1].buffer, big.buffer, "the large range is a view of its buffer, not a copy");
  t.equal(frames[1].byteOffset, big.byteOffset + 10);
  t.equal(frames[2], a, "a small range alone is the buffer itself");
  t.same(ranges.takeFrames(), [], "cleared");
});

t.test("ValueSpans - values found in their frames; a value across two frames is a ProtocolError", async (t) => {
  const frames = [Buffer.from([1, 2, 3]), Buffer.from([4, 5])];
  const spans = new ValueSpans(new BodyParts(frames), offsetsOf([1, 2, 2]));
  t.same([0, 1, 2].map((i) => [spans.frame(i) === frames[1] ? 1 : 0, spans.start(i), spans.end(i)]), [[0, 0, 1], [0, 1, 3], [1, 0, 2]]);
  t.throws(() => new ValueSpans(new BodyParts(frames), offsetsOf([2, 3])), ProtocolError, "value 1 straddles frames 0 and 1");
  const one = new ValueSpans(Buffer.from([1, 2, 3]), offsetsOf([3]));
  t.equal(one.end(0), 3, "one buffer: offsets as they are");
  t.equal(BodyParts.of([Buffer.from("h")], 1).length, 0, "a message with no body frame: an empty body");
});
