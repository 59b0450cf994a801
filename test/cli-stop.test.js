// How `zerolb map` stops: Ctrl-C (SIGINT) once and twice, the grace period, a reader that goes away.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { alive, range, tmpDir, waitFor, within } from "./helpers.js";
import { childPids, HANDLER, jsonl, lines, parseLines, startCli } from "./cli-helpers.js";

/** Resolves once every pid is gone (they are the CLI's children: the broker and the workers). */
async function allGone(t, pids) {
  for (const pid of pids) await waitFor(() => !alive(pid), { timeout: 20_000, what: `process ${pid} to be gone` });
  t.pass(`no broker or worker process left behind (${[...pids].join(", ")})`);
}

t.test("SIGINT: stops reading, finishes what runs, writes only complete lines, leaves no process", async (t) => {
  const pidFile = join(tmpDir(t), "pids");
  const cli = startCli(t, ["map", HANDLER, "--workers", "2", "--concurrency", "2", "--worker-data", JSON.stringify({ pidFile })]);
  // An endless input, written as the CLI reads it: the CLI must stop reading it.
  let written = 0;
  const feed = () => {
    while (cli.child.stdin.writable && cli.child.stdin.write(jsonl(range(20, () => ({ sleep: 200, value: { n: ++written, pad: "x".repeat(2000) } })))));
  };
  cli.child.stdin.on("drain", feed);
  feed();
  await cli.waitForStdout((out) => lines(out).length >= 8, "first results");
  const pids = new Set([...childPids(cli.child.pid), ...lines(readFileSync(pidFile, "utf8")).map(Number)]);
  t.ok(pids.size >= 3, `broker and workers seen (${[...pids]})`);
  process.kill(cli.child.pid, "SIGINT");
  const { code } = await cli.closed;
  t.equal(code, 130, `exit 130 (stderr: ${cli.stderr()})`);
  const stdout = cli.stdout();
  t.ok(stdout.endsWith("\n"), "the output ends with a complete line");
  const rows = parseLines(stdout); // throws on a partial line
  t.same(rows.map((r) => r.n), range(rows.length, (i) => i + 1), "results in order, none missing");
  t.ok(rows.length < written, `stopped before the end of the input (${rows.length} of ${written} written)`);
  await allGone(t, pids);
});

t.test("a second SIGINT stops at once, even with a task that never ends", async (t) => {
  const cli = startCli(t, ["map", HANDLER, "--workers", "1", "--grace", "600000"]);
  cli.child.stdin.write(jsonl([1, { hang: true }]));
  await cli.waitForStdout((out) => lines(out).length >= 1, "first result");
  const pids = childPids(cli.child.pid);
  process.kill(cli.child.pid, "SIGINT");
  // The first SIGINT is taken in: the CLI says it is letting running tasks finish (for 10 minutes).
  await cli.waitForStderr(/SIGINT: finishing running tasks/);
  t.equal(cli.child.exitCode, null, "still waiting for the running task");
  process.kill(cli.child.pid, "SIGINT");
  // Not a speed check: without the second SIGINT it would wait for the 10-minute grace period.
  const { code } = await within(cli.closed, 60_000, "the CLI after a second SIGINT");
  t.equal(code, 130);
  t.same(parseLines(cli.stdout()), [2]);
  await allGone(t, pids);
});

t.test("--grace: a task still running when the grace period ends is stopped", async (t) => {
  const cli = startCli(t, ["map", HANDLER, "--workers", "1", "--grace", "500"]);
  cli.child.stdin.write(jsonl([1, { hang: true }, 3]));
  await cli.waitForStdout((out) => lines(out).length >= 1, "first result");
  const pids = childPids(cli.child.pid);
  const start = Date.now();
  process.kill(cli.child.pid, "SIGINT");
  const { code } = await within(cli.closed, 60_000, "the CLI after its grace period");
  t.equal(code, 130);
  const took = Date.now() - start;
  // The lower bound is the point (a timer cannot fire early); the hang guard above is the upper one.
  t.ok(took >= 500, `waited for the grace period, then stopped (${took} ms)`);
  t.match(cli.stderr(), /SIGINT: finishing running tasks \(up to 500 ms\)/, "and said how long it would wait");
  t.same(parseLines(cli.stdout()), [2], "results done before the stop");
  await allGone(t, pids);
});

t.test("a reader that goes away (EPIPE) ends the run quietly and stops every process", async (t) => {
  // What `zerolb map … | head -n 3` does: the reader closes the pipe after three lines.
  const pidFile = join(tmpDir(t), "pids");
  const cli = startCli(t, ["map", HANDLER, "--workers", "1", "--worker-data", JSON.stringify({ pidFile })]);
  cli.child.stdin.end(jsonl(range(20000, (i) => i)));
  await cli.waitForStdout((out) => lines(out).length >= 3, "three lines");
  const pids = new Set([...childPids(cli.child.pid), ...lines(readFileSync(pidFile, "utf8")).map(Number)]);
  t.ok(pids.size >= 2, `broker and worker seen (${[...pids]})`);
  cli.child.stdout.destroy();
  const { code, signal } = await within(cli.closed, 60_000, "the CLI after its reader went away");
  // 141 is how a shell reports a command that SIGPIPE ended: what a pipeline expects of it.
  t.ok(code === 0 || code === 141, `exit 0 or 141, as after SIGPIPE (code ${code}, signal ${signal})`);
  t.match(cli.stdout(), /^0\n2\n4\n/, "the lines read were the first results");
  t.notMatch(cli.stderr(), /Error|EPIPE/, "no stack trace");
  await allGone(t, pids);
});
