// `zerolb map --output FILE --resume`: a run SIGKILLed at random points, three times, then resumed
// to its end, leaves each item's result in FILE exactly once (in input order when ordered); a torn
// last line is repaired; the journal goes when the run finishes; the CLI's processes die with it.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { alive, range, tmpDir, waitFor } from "./helpers.js";
import { childPids, HANDLER, jsonl, runCli, startCli } from "./cli-helpers.js";

const N = 600;

/** Complete lines in a file (a torn last line does not count). */
function completeLines(path) {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, "utf8");
  return text.slice(0, text.lastIndexOf("\n") + 1).split("\n").filter(Boolean);
}

for (const ordered of [true, false]) {
  t.test(`--resume${ordered ? "" : " --unordered"}: SIGKILLed three times at random points, each result once in FILE`, async (t) => {
    const dir = tmpDir(t);
    const input = join(dir, "in.jsonl");
    writeFileSync(input, jsonl(range(N, (i) => ({ sleep: 20, value: i }))));
    const output = join(dir, "out.jsonl");
    const args = ["map", HANDLER, input, "--output", output, "--resume", "--workers", "2", "--concurrency", "2", "--quiet", ...(ordered ? [] : ["--unordered"])];
    let killed = 0;
    for (let round = 0; round < 3; round++) {
      const before = completeLines(output).length;
      const target = before + 20 + Math.floor(Math.random() * 60);
      const cli = startCli(t, args);
      // Wait for a random amount of progress, then kill the CLI without warning.
      await waitFor(() => completeLines(output).length >= target || cli.child.exitCode !== null, { timeout: 90_000, what: `${target} lines in the output` });
      if (cli.child.exitCode !== null) break; // finished before the kill: nothing left to resume
      const children = childPids(cli.child.pid);
      process.kill(cli.child.pid, "SIGKILL");
      const { signal } = await cli.closed;
      t.equal(signal, "SIGKILL", `round ${round + 1}: killed after ${completeLines(output).length} lines`);
      killed++;
      await waitFor(() => children.every((pid) => !alive(pid)), { what: "the killed CLI's broker and workers to exit" });
      t.ok(existsSync(`${output}.zerolb-journal`), "the journal stays for --resume");
      // A crash mid-write leaves a torn line: the resume must repair it.
      if (round === 1) appendFileSync(output, '{"torn');
    }
    t.equal(killed, 3, "killed three times before the end");
    const last = await runCli(t, args);
    t.equal(last.code, 0, last.stderr);
    const values = completeLines(output).map(Number);
    t.equal(readFileSync(output, "utf8").endsWith("\n"), true, "no torn line at the end");
    t.equal(values.length, N, "one line per item");
    t.equal(new Set(values).size, N, "none twice");
    if (ordered) t.same(values, range(N, (i) => i), "in input order");
    else t.same([...values].sort((a, b) => a - b), range(N, (i) => i), "every item");
    t.notOk(existsSync(`${output}.zerolb-journal`), "the journal is removed when the run finishes");
  });
}

t.test("--resume after Ctrl-C: the stopped run keeps its journal (exit 130); the resumed one completes it", async (t) => {
  const dir = tmpDir(t);
  const input = join(dir, "in.jsonl");
  writeFileSync(input, jsonl(range(N, (i) => ({ sleep: 20, value: i }))));
  const output = join(dir, "out.jsonl");
  const args = ["map", HANDLER, input, "--output", output, "--workers", "2", "--concurrency", "2", "--quiet", "--grace", "0"];
  const cli = startCli(t, args);
  await waitFor(() => completeLines(output).length >= 30, { timeout: 90_000, what: "30 lines in the output" });
  process.kill(cli.child.pid, "SIGINT");
  const { code } = await cli.closed;
  t.equal(code, 130, cli.stderr());
  t.ok(existsSync(`${output}.zerolb-journal`), "the journal stays");
  const stoppedAt = completeLines(output).length;
  t.ok(stoppedAt < N, `stopped before the end (${stoppedAt} lines)`);
  const resumed = await runCli(t, [...args, "--resume"]);
  t.equal(resumed.code, 0, resumed.stderr);
  t.same(completeLines(output).map(Number), range(N, (i) => i), "each result once, in order");
  t.notOk(existsSync(`${output}.zerolb-journal`));
});

t.test("--resume: refuses a finished FILE, and a journal is not overwritten without --resume", async (t) => {
  const dir = tmpDir(t);
  const output = join(dir, "out.jsonl");
  const done = await runCli(t, ["map", HANDLER, "--output", output, "--workers", "1"], { input: jsonl([1, 2]) });
  t.equal(done.code, 0, done.stderr);
  t.equal(readFileSync(output, "utf8"), "2\n4\n");
  const again = await runCli(t, ["map", HANDLER, "--output", output, "--resume", "--workers", "1"], { input: jsonl([1, 2]) });
  t.equal(again.code, 2);
  t.match(again.stderr, /has no journal .*nothing to resume/);
  writeFileSync(`${output}.zerolb-journal`, '{"o":2,"f":0,"d":[[0,1]]}\n');
  const fresh = await runCli(t, ["map", HANDLER, "--output", output, "--workers", "1"], { input: jsonl([1, 2]) });
  t.equal(fresh.code, 2);
  t.match(fresh.stderr, /did not finish: add --resume/);
  const resumed = await runCli(t, ["map", HANDLER, "--output", output, "--resume", "--workers", "1"], { input: jsonl([1, 2]) });
  t.equal(resumed.code, 0, resumed.stderr);
  t.equal(readFileSync(output, "utf8"), "2\n4\n", "the line past the journal's length was cut, item 1 redone once");
  const noOutput = await runCli(t, ["map", HANDLER, "--resume"], { input: jsonl([1]) });
  t.equal(noOutput.code, 2);
  t.match(noOutput.stderr, /--resume needs --output/);
});
