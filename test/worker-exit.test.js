// WorkerExitError's evidence: the attempts, how the last local worker ended (exit code or signal)
// and the last 4 KiB it wrote to stderr, which still reaches the caller's own stderr.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { WorkerExitError } from "../dist/index.js";
import { alive, collect, createLb, fixture, tmpDir, waitFor } from "./helpers.js";
import { runCli } from "./cli-helpers.js";

t.test("WorkerExitError - carries attempts, exitCode and the tail of the worker's stderr", async (t) => {
  const lb = createLb(t, { workers: 2, maxAttempts: 2 });
  await lb.ready;
  const message = "native crash: the last words ✓\n";
  // 5000 bytes of filler first: the tail is the last 4096 bytes, so it ends with the message.
  const [row] = await collect(lb.map([{ op: "stderrExit", filler: 5000, message, code: 7 }], { settled: true }));
  t.equal(row.ok, false);
  const err = row.error;
  t.ok(err instanceof WorkerExitError, "a WorkerExitError");
  t.equal(err.attempts, 2, "attempts: the runs, each ended by a death");
  t.equal(err.exitCode, 7, "exitCode of the last worker");
  t.equal(err.signal, undefined, "no signal: it exited");
  t.type(err.stderr, "string");
  t.ok(err.stderr.endsWith(message), "stderr ends with what the worker wrote last");
  t.ok(Buffer.byteLength(err.stderr) <= 4096, `at most 4 KiB (${Buffer.byteLength(err.stderr)} bytes)`);
  t.ok(Buffer.byteLength(err.stderr) >= 4000, "the whole tail, not only the last chunk");
  t.match(err.stderr, /^x+native crash/, "filler then the message: the tail of one worker's stream");
  await waitFor(() => lb.stats().workerRestarts >= 2, { what: "both deaths to be restarted" });
});

t.test("WorkerExitError - a worker ended by a signal names the signal, no exit code", async (t) => {
  const lb = createLb(t, { workers: 1, maxAttempts: 1 });
  await lb.ready;
  const [row] = await collect(lb.map([{ op: "selfKill", signal: "SIGKILL" }], { settled: true }));
  t.ok(row.error instanceof WorkerExitError, "a WorkerExitError");
  t.equal(row.error.attempts, 1);
  t.equal(row.error.signal, "SIGKILL");
  t.equal(row.error.exitCode, undefined);
  t.equal(row.error.stderr, "", "it wrote nothing to stderr");
  await waitFor(() => lb.stats().workerRestarts >= 1, { what: "the death to be restarted" });
});

t.test("worker stderr - still reaches the caller's stderr (zerolb map prints it)", async (t) => {
  const r = await runCli(t, ["map", fixture("ops.js"), "--workers", "1", "--settled", "--quiet"], {
    input: JSON.stringify({ op: "stderrExit", message: "said before dying\n", code: 5 }) + "\n",
  });
  t.equal(r.code, 0, r.stderr);
  const said = r.stderr.split("said before dying").length - 1;
  t.equal(said, 3, "each of the 3 runs' words reached the terminal (maxAttempts 3)");
  const [line] = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  t.equal(line.ok, false);
  t.equal(line.error.name, "WorkerExitError");
});

t.test("WorkerExitError - a worker whose stderr outlives it (a grandchild holds it) still gets its exit code", async (t) => {
  const lb = createLb(t, { workers: 1, maxAttempts: 1 });
  await lb.ready;
  const pidFile = join(tmpDir(t), "grandchild.pid");
  t.teardown(() => {
    // the grandchild this test made the worker start: ended by its pid
    const pid = Number(readFileSync(pidFile, "utf8"));
    if (pid > 0 && alive(pid)) process.kill(pid, "SIGKILL");
  });
  const [row] = await collect(lb.map([{ op: "grandchildHoldsStderr", pidFile, code: 6 }], { settled: true }));
  t.ok(row.error instanceof WorkerExitError, "a WorkerExitError");
  t.equal(row.error.exitCode, 6, "the exit code, though stderr is still open");
  t.match(row.error.stderr, /left a grandchild/, "what it wrote so far");
  t.ok(alive(Number(readFileSync(pidFile, "utf8"))), "the grandchild still holds stderr");
});
