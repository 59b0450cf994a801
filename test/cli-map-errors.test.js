// `zerolb map` when things fail: a task that throws or times out, lines that are not JSON, a
// handler module that cannot start; with and without --settled.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { range, tmpDir } from "./helpers.js";
import { HANDLER, jsonl, parseLines, runCli, writeInput } from "./cli-helpers.js";

t.test("map: a failing task exits 1, names the failing line, and keeps the results before it", async (t) => {
  const file = writeInput(t, "data.jsonl", [1, 2, { throw: "kaput" }, 4]);
  const r = await runCli(t, ["map", HANDLER, file, "--workers", "1"]);
  t.equal(r.code, 1);
  t.same(parseLines(r.stdout), [2, 4], "results of the lines before the failure");
  t.match(r.stderr, /data\.jsonl:3\b/, "names file and line");
  t.match(r.stderr, /RangeError: kaput/);
  t.match(r.stderr, /E_CLI/, "with the error code");
  t.match(r.stderr, /cli-handler\.js/, "and the handler's stack");
});

t.test("map --settled: one {index, ok, value|error} row per line, exit 0", async (t) => {
  const file = writeInput(t, "data.jsonl", [1, { throw: "bad" }, 3, { sleep: 10, value: "x" }]);
  const r = await runCli(t, ["map", HANDLER, file, "--settled", "--workers", "1"]);
  t.equal(r.code, 0, r.stderr);
  t.same(parseLines(r.stdout), [
    { index: 0, ok: true, value: 2 },
    { index: 1, ok: false, error: { name: "RangeError", message: "bad", code: "E_CLI" } },
    { index: 2, ok: true, value: 6 },
    { index: 3, ok: true, value: "x" },
  ]);
});

t.test("map --settled --timeout: a task past its timeout is a failed row with TimeoutError", async (t) => {
  const r = await runCli(t, ["map", HANDLER, "--settled", "--timeout", "200", "--workers", "1"], { input: jsonl([{ hang: true }, 5]) });
  t.equal(r.code, 0, r.stderr);
  const rows = parseLines(r.stdout);
  t.equal(rows.length, 2);
  t.match(rows[0], { index: 0, ok: false, error: { name: "TimeoutError", code: "ERR_ZEROLB_TIMEOUT" } });
  t.same(rows[1], { index: 1, ok: true, value: 10 });
});

t.test("map: a line that is not JSON is an error naming file and line (exit 1)", async (t) => {
  const file = writeInput(t, "bad.jsonl", ["1", "2", "{oops", "4"]);
  const r = await runCli(t, ["map", HANDLER, file, "--workers", "1"]);
  t.equal(r.code, 1);
  t.match(r.stderr, /bad\.jsonl:3: not valid JSON/);
  t.same(parseLines(r.stdout), [2, 4], "the lines before it are still done");
  const stdin = await runCli(t, ["map", HANDLER, "--workers", "1"], { input: "1\nnope\n" });
  t.equal(stdin.code, 1);
  t.match(stdin.stderr, /stdin:2: not valid JSON/);
});

t.test("map --settled: a line that is not JSON is a failed row for that line; the rest goes on", async (t) => {
  const file = writeInput(t, "bad.jsonl", ["1", "{oops", "", "3", "[", "4"]);
  for (const order of [[], ["--unordered"]]) {
    const r = await runCli(t, ["map", HANDLER, file, "--settled", "--workers", "1", ...order]);
    t.equal(r.code, 0, r.stderr);
    const rows = parseLines(r.stdout);
    if (order.length) rows.sort((a, b) => a.index - b.index);
    t.same(rows.map((row) => [row.index, row.ok]), [[0, true], [1, false], [2, true], [3, false], [4, true]], `rows ${order}`);
    t.match(rows[1].error, { name: "JsonLinesError", code: "ERR_ZEROLB_JSONL", message: /bad\.jsonl:2: not valid JSON/ });
    t.match(rows[3].error.message, /bad\.jsonl:5:/, "line numbers count blank lines");
    t.same([rows[0].value, rows[2].value, rows[4].value], [2, 6, 8]);
  }
});

t.test("map: many malformed lines with --settled keep their places among slow results", async (t) => {
  const values = [{ sleep: 300, value: "first" }, ...range(100, () => "garbage"), 7];
  const r = await runCli(t, ["map", HANDLER, "--settled", "--workers", "1"], { input: jsonl(values) });
  t.equal(r.code, 0, r.stderr);
  const rows = parseLines(r.stdout);
  t.same(rows.map((row) => row.index), range(102));
  t.equal(rows[0].value, "first");
  t.equal(rows[101].value, 14);
  t.equal(rows.filter((row) => !row.ok).length, 100);
});

t.test("map: a handler module that cannot start fails the run (exit 1) with the cause", async (t) => {
  const dir = tmpDir(t);
  const broken = join(dir, "broken.js");
  writeFileSync(broken, "export const notAFunction = 1;\n");
  const r = await runCli(t, ["map", broken, "--workers", "1"], { input: "1\n" });
  t.equal(r.code, 1);
  t.match(r.stderr, /could not start/);
});
