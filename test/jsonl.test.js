// JSON Lines helper: values from a stream, line numbers in errors, chunk boundaries, limits.
import { createReadStream, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import t from "tap";
import { countJsonLines, jsonLineRecords, JsonLinesError, parseJsonLines } from "../dist/index.js";
import { collect, tmpDir } from "./helpers.js";

t.test("parseJsonLines: one value per line, from a file stream", async (t) => {
  const path = join(tmpDir(t), "data.jsonl");
  writeFileSync(path, '{"a":1}\n[1,2]\n"text"\n3.5\nnull\ntrue\n');
  t.same(await collect(parseJsonLines(createReadStream(path), { file: path })), [{ a: 1 }, [1, 2], "text", 3.5, null, true]);
});

t.test("parseJsonLines: CRLF, blank lines, a BOM and no final newline", async (t) => {
  const text = "\uFEFF1\r\n\r\n  \n2\n\t\n3";
  t.same(await collect(parseJsonLines([text])), [1, 2, 3]);
});

t.test("parseJsonLines: lines and multi-byte characters split across chunks", async (t) => {
  const text = '{"word":"héllo — 日本"}\n{"n":12345}\n"€"\n';
  const bytes = Buffer.from(text);
  for (const size of [1, 2, 3, 5, 7, 64]) {
    const chunks = [];
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
    t.same(await collect(parseJsonLines(Readable.from(chunks))), [{ word: "héllo — 日本" }, { n: 12345 }, "€"], `chunks of ${size} bytes`);
  }
  t.same(await collect(parseJsonLines(["1\n2", "3\n", "4"])), [1, 23, 4], "string chunks");
});

t.test("parseJsonLines: a line that is not JSON throws a JsonLinesError naming file and line", async (t) => {
  const seen = [];
  await t.rejects(async () => {
    for await (const v of parseJsonLines(["1\n\n2\n{nope\n4\n"], { file: "data.jsonl" })) seen.push(v);
  });
  t.same(seen, [1, 2], "values before it");
  let caught;
  try {
    await collect(parseJsonLines(["1\n\n2\n{nope\n4\n"], { file: "data.jsonl" }));
  } catch (e) {
    caught = e;
  }
  t.ok(caught instanceof JsonLinesError);
  t.ok(caught instanceof SyntaxError, "a SyntaxError");
  t.equal(caught.code, "ERR_ZEROLB_JSONL");
  t.equal(caught.line, 4, "blank lines count");
  t.equal(caught.file, "data.jsonl");
  t.match(caught.message, /^data\.jsonl:4: not valid JSON/);
  t.ok(caught.cause instanceof SyntaxError, "JSON.parse's error as cause");
});

t.test("parseJsonLines: without a file name the message says input", async (t) => {
  await t.rejects(collect(parseJsonLines(["x\n"])), { message: /^input:1: not valid JSON/, line: 1, file: undefined });
});

t.test("parseJsonLines: invalid: skip", async (t) => {
  t.same(await collect(parseJsonLines(["1\nbad\n3\n"], { invalid: "skip" })), [1, 3]);
});

t.test("jsonLineRecords: line numbers, and invalid: yield goes on past bad lines", async (t) => {
  const records = await collect(jsonLineRecords(["1\n\n{\n4\n"], { file: "f", invalid: "yield" }));
  t.same(records.map((r) => [r.ok, r.line, r.file]), [[true, 1, "f"], [false, 3, "f"], [true, 4, "f"]]);
  t.equal(records[0].value, 1);
  t.ok(records[1].error instanceof JsonLinesError);
  t.equal(records[1].error.line, 3);
});

t.test("maxLineLength: a line past it is an invalid line, and memory stays bounded", async (t) => {
  const long = "x".repeat(1000);
  const chunks = ["1\n", long.slice(0, 400), long.slice(400), "\n2\n", `"${"y".repeat(50)}`];
  const records = await collect(jsonLineRecords(chunks, { maxLineLength: 100, invalid: "yield" }));
  t.same(records.map((r) => [r.ok, r.line]), [[true, 1], [false, 2], [true, 3], [false, 4]]);
  t.match(records[1].error.message, /input:2: line is longer than 100 characters/);
  t.match(records[3].error.message, /input:4: not valid JSON/, "an unterminated last line that fits is parsed (and fails)");
  await t.rejects(collect(parseJsonLines([long + "\n"], { maxLineLength: 10 })), { line: 1, code: "ERR_ZEROLB_JSONL" });
});

t.test("a large input streams: values come before the source ends", async (t) => {
  let produced = 0;
  async function* source() {
    for (let i = 0; i < 100_000; i++) {
      produced++;
      yield `{"i":${i}}\n`;
    }
  }
  let firstAt;
  let count = 0;
  for await (const v of parseJsonLines(source())) {
    if (count === 0) firstAt = produced;
    count++;
    t.equal(v.i, count - 1, "in order");
    if (count > 10) break;
  }
  t.equal(firstAt, 1, "the first value came right after the first chunk");
  t.ok(produced < 100, "the source was not read to the end");
});

t.test("bad arguments are TypeErrors", async (t) => {
  await t.rejects(collect(parseJsonLines(42)), TypeError);
  await t.rejects(collect(parseJsonLines(["1\n"], { invalid: "maybe" })), TypeError);
  await t.rejects(collect(parseJsonLines(["1\n"], { invalid: "yield" })), TypeError);
  await t.rejects(collect(parseJsonLines(["1\n"], { maxLineLength: 0 })), TypeError);
  await t.rejects(collect(parseJsonLines([{}])), TypeError);
});

t.test("countJsonLines: non-blank lines, bytes or text", async (t) => {
  t.equal(await countJsonLines([Buffer.from("1\n\n2\r\n  \n3")]), 3);
  t.equal(await countJsonLines(["1\n", "2", "\n", "\n"]), 2);
  t.equal(await countJsonLines([]), 0);
  t.equal(await countJsonLines([Buffer.from("\uFEFF1\n")]), 1);
});
