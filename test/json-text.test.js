// JsonText: `zerolb map`'s input lines travel as their text and are parsed where they arrive (the
// worker), under zerolb's extension type (kind "J"). Written straight into a batch body, or
// encoded alone; every header size; text that is not JSON fails that value alone, as a JsonLinesError.
import t from "tap";
import { BodyWriter } from "../dist/wire/body-writer.js";
import { appendValue, decodeValue, encodeValue, ValueReader } from "../dist/wire/codec.js";
import { JsonText } from "../dist/wire/json-text.js";

const docs = [
  { name: "a record", text: '{"id":7,"user":"u-1","stars":4,"text":"great value"}', value: { id: 7, user: "u-1", stars: 4, text: "great value" } },
  { name: "a number", text: "42", value: 42 },
  { name: "multi-byte text", text: '["é", "日本", "😀"]', value: ["é", "日本", "😀"] },
  { name: "300 bytes (ext 16)", text: JSON.stringify("x".repeat(298)), value: "x".repeat(298) },
  { name: "70,000 bytes (ext 32)", text: JSON.stringify("y".repeat(70_000)), value: "y".repeat(70_000) },
];

/** A batch body as the caller writes it, read back as the worker reads it. */
function throughBody(values) {
  const body = new BodyWriter(64);
  for (const v of values) appendValue(body, v);
  const { body: bytes, lengths } = body.take();
  const offsets = new Uint32Array(lengths.length + 1);
  lengths.forEach((n, i) => (offsets[i + 1] = offsets[i] + n));
  const reader = new ValueReader(bytes, offsets);
  const out = values.map((_, i) => {
    try {
      return { value: reader.read(i) };
    } catch (err) {
      return { error: err };
    }
  });
  reader.close();
  return out;
}

t.test("JsonText - written into a batch body, each arrives parsed, whatever its size", async (t) => {
  const got = throughBody([...docs.map((d) => new JsonText(d.text)), "a plain value after them"]);
  docs.forEach((d, i) => t.same(got[i].value, d.value, d.name));
  t.equal(got[docs.length].value, "a plain value after them", "ordinary values around them are untouched");
});

t.test("JsonText - encoded alone (encodeValue), it arrives parsed", async (t) => {
  for (const d of docs) t.same(decodeValue(encodeValue(new JsonText(d.text))), d.value, d.name);
});

t.test("JsonText - text that is not JSON fails its own value with a JsonLinesError; the others arrive", async (t) => {
  const got = throughBody([new JsonText("1"), new JsonText("{not json"), new JsonText("[3]")]);
  t.equal(got[0].value, 1);
  t.equal(got[1].error?.name, "JsonLinesError", "the bad one fails as a JsonLinesError");
  t.match(got[1].error?.message, /^not valid JSON: /, "saying it is not JSON");
  t.equal(got[1].error?.code, "ERR_ZEROLB_JSONL");
  t.same(got[2].value, [3], "the value after it is read");
});
