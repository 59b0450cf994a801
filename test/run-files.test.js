// RunFiles: the journal of zerolb map --output, read and written without processes. What --resume
// trusts: the last complete journal line's lengths, and the indices of every complete line.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { IndexRanges, journalPath, RunFiles } from "../dist/cli/run-files.js";
import { tmpDir } from "./helpers.js";

t.test("IndexRanges - merges ranges and answers in input order", async (t) => {
  const done = new IndexRanges([[5, 7], [0, 2], [1, 3], [9, 10]]);
  t.equal(done.count, 6, "0,1,2,5,6,9");
  t.same([...Array(11).keys()].filter((i) => done.has(i)), [0, 1, 2, 5, 6, 9]);
});

t.test("RunFiles - a batch is done once its journal line is written; a resume cuts back to it", async (t) => {
  const dir = tmpDir(t);
  const output = join(dir, "out.jsonl");
  const failed = join(dir, "failed.jsonl");
  const first = new RunFiles({ output, failed, resume: false });
  first.finished(0, "a");
  first.finished(2, "c");
  first.finished(1, undefined, '{"index":1}');
  first.flush();
  t.equal(readFileSync(output, "utf8"), "a\nc\n");
  t.equal(readFileSync(failed, "utf8"), '{"index":1}\n');
  first.close(false); // stopped: the journal stays
  t.ok(existsSync(journalPath(output)));
  // A crash after a batch reached the output but before its journal line (and a torn line).
  writeFileSync(output, "a\nc\nd\n{\"torn", { flag: "w" });
  writeFileSync(journalPath(output), readFileSync(journalPath(output), "utf8") + '{"o":99,"f":0,"d":[[3,4]]', { flag: "w" }); // torn journal line
  const resumed = new RunFiles({ output, failed, resume: true });
  t.equal(readFileSync(output, "utf8"), "a\nc\n", "cut back to the last complete journal line's length");
  t.equal(readFileSync(failed, "utf8"), '{"index":1}\n');
  t.same([0, 1, 2, 3, 4].filter((i) => resumed.done.has(i)), [0, 1, 2], "the torn journal line's items are not done");
  resumed.finished(3, "d");
  resumed.close(true);
  t.equal(readFileSync(output, "utf8"), "a\nc\nd\n");
  t.notOk(existsSync(journalPath(output)), "a finished run removes its journal");
});

t.test("RunFiles - refuses what it cannot continue safely", async (t) => {
  const dir = tmpDir(t);
  const output = join(dir, "out.jsonl");
  t.throws(() => new RunFiles({ output: undefined, failed: undefined, resume: true }), /--resume needs --output/);
  t.throws(() => new RunFiles({ output, failed: output, resume: false }), /another file than --output/);
  writeFileSync(output, "x\n");
  writeFileSync(journalPath(output), '{"o":10,"f":0,"d":[[0,1]]}\n');
  t.throws(() => new RunFiles({ output, failed: undefined, resume: true }), /shorter .* than its journal says/, "an output shorter than the journal: changed since");
  writeFileSync(journalPath(output), "not json\n");
  t.throws(() => new RunFiles({ output, failed: undefined, resume: true }), /not a zerolb map journal/);
});
