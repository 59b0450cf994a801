// ValueReader: the values of a batch body read in one decoder pass, and a bad value failing alone.
import t from "tap";
import { encode } from "@msgpack/msgpack";
import { ValueReader } from "../dist/wire/value-reader.js";

/** A body of the encoded parts back to back, and its offsets. */
function batch(parts) {
  const offsets = new Uint32Array(parts.length + 1);
  parts.forEach((p, i) => (offsets[i + 1] = offsets[i] + p.length));
  const body = new Uint8Array(offsets[parts.length]);
  parts.forEach((p, i) => body.set(p, offsets[i]));
  return { body, offsets };
}

const read = (reader, n) => Array.from({ length: n }, (_, i) => {
  try {
    return { value: reader.read(i) };
  } catch (err) {
    return { error: err.message };
  }
});

t.test("reads every value of a batch, in order", async (t) => {
  const values = [1, "two", { three: [3] }, null, new Uint8Array([4, 4]), -5.5, 2n ** 60n];
  const { body, offsets } = batch(values.map((v) => encode(v, { useBigInt64: true })));
  const reader = new ValueReader(body, offsets);
  t.same(read(reader, values.length).map((r) => r.value), values);
  reader.close();
});

t.test("a part holding two values, or half of one, fails alone; the values after it still decode", async (t) => {
  const { body, offsets } = batch([encode(1), Uint8Array.of(...encode(2), ...encode(3)), encode("after"), encode("x").subarray(0, 1), encode([5])]);
  const reader = new ValueReader(body, offsets);
  const rows = read(reader, 5);
  t.same(rows[0], { value: 1 });
  t.match(rows[1].error, /extra/i, "two values in one part");
  t.same(rows[2], { value: "after" });
  t.ok(rows[3].error, "a truncated value");
  t.same(rows[4], { value: [5] });
  reader.close();
});

t.test("skipped and repeated indexes still give the right values", async (t) => {
  const { body, offsets } = batch(["a", "b", "c", "d"].map((v) => encode(v)));
  const reader = new ValueReader(body, offsets);
  t.equal(reader.read(1), "b", "skips a");
  t.equal(reader.read(3), "d", "skips c");
  t.equal(reader.read(0), "a", "back to the start");
  t.equal(reader.read(2), "c");
  reader.close();
});

t.test("a reader left unfinished does not disturb the next one", async (t) => {
  const first = batch([1, 2, 3].map((v) => encode(v)));
  const left = new ValueReader(first.body, first.offsets);
  t.equal(left.read(0), 1);
  const second = batch(["x", "y"].map((v) => encode(v)));
  const reader = new ValueReader(second.body, second.offsets);
  t.same([reader.read(0), reader.read(1)], ["x", "y"]);
  t.equal(left.read(1), 2);
  t.equal(left.read(2), 3);
  left.close();
  reader.close();
});
