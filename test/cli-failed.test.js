// `zerolb map --failed FILE`: one JSON line per failed item (index, input, error, attempts), the
// run goes on, and the exit code says whether any failed (0 none, 3 some).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { fixture, range, tmpDir } from "./helpers.js";
import { HANDLER, jsonl, lines, parseLines, runCli } from "./cli-helpers.js";

const INPUT = [1, { throw: "bad one" }, 3, "not json", 5, { throw: "bad two" }, 7];

for (const ordered of [true, false]) {
  t.test(`--failed${ordered ? "" : " --unordered"}: each failed item in FILE with its input; the others in the output; exit 3`, async (t) => {
    const failed = join(tmpDir(t), "failed.jsonl");
    const r = await runCli(t, ["map", HANDLER, "--failed", failed, "--workers", "2", ...(ordered ? [] : ["--unordered"])], { input: jsonl(INPUT) });
    t.equal(r.code, 3, `exit 3: some items failed (${r.stderr})`);
    t.match(r.stderr, /3 items failed; see .*failed\.jsonl/);
    const results = lines(r.stdout).map(Number);
    if (ordered) t.same(results, [2, 6, 10, 14], "the successes, in order");
    else t.same(results.sort((a, b) => a - b), [2, 6, 10, 14], "the successes");
    const rows = parseLines(readFileSync(failed, "utf8")).sort((a, b) => a.index - b.index);
    t.same(rows, [
      { index: 1, input: { throw: "bad one" }, error: { name: "RangeError", message: "bad one", code: "E_CLI" }, attempts: 1 },
      { index: 3, input: null, error: { name: "JsonLinesError", message: rows[1]?.error.message, code: "ERR_ZEROLB_JSONL" }, attempts: 1 },
      { index: 5, input: { throw: "bad two" }, error: { name: "RangeError", message: "bad two", code: "E_CLI" }, attempts: 1 },
    ]);
    t.match(rows[1].error.message, /stdin:4: not valid JSON/, "a line that is not JSON names its line");
  });
}

t.test("--failed: exit 0 and an empty file when nothing failed", async (t) => {
  const failed = join(tmpDir(t), "failed.jsonl");
  const r = await runCli(t, ["map", HANDLER, "--failed", failed, "--workers", "1"], { input: jsonl(range(5)) });
  t.equal(r.code, 0, r.stderr);
  t.equal(readFileSync(failed, "utf8"), "");
});

t.test("--failed: an item that kills its worker is written with the attempts it had", async (t) => {
  const failed = join(tmpDir(t), "failed.jsonl");
  const r = await runCli(t, ["map", fixture("ops.js"), "--failed", failed, "--workers", "1"], { input: jsonl([1, { op: "exit", code: 4 }, 3]) });
  t.equal(r.code, 3, r.stderr);
  t.same(lines(r.stdout).map(Number), [2, 6]);
  const [row] = parseLines(readFileSync(failed, "utf8"));
  t.equal(row.index, 1);
  t.same(row.input, { op: "exit", code: 4 });
  t.equal(row.error.name, "WorkerExitError");
  t.equal(row.error.code, "ERR_ZEROLB_WORKER_EXIT");
  t.equal(row.attempts, 3, "maxAttempts runs, each ended by a death");
});

t.test("--failed with --settled: the rows on stdout and the failures in FILE", async (t) => {
  const failed = join(tmpDir(t), "failed.jsonl");
  const r = await runCli(t, ["map", HANDLER, "--failed", failed, "--settled", "--workers", "1"], { input: jsonl([1, { throw: "x" }]) });
  t.equal(r.code, 3);
  t.same(parseLines(r.stdout).map((row) => row.ok), [true, false]);
  t.same(parseLines(readFileSync(failed, "utf8")).map((row) => row.index), [1]);
});
