// The CLI at the edges: every command loads a .ts module as the library does (tsx is a dev
// dependency here), and `zerolb map --endpoint` takes --curve-key-file, --allow and --insecure.
// Run as a user would: `node dist/cli.js …` child processes, killed by pid when a test ends.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { curveKeyPair } from "zeromq";
import { collect, createLb, fixture, range, tmpDir, waitFor } from "./helpers.js";
import { CLI, startWorker } from "./remote-helpers.js";

/**
 * Runs the CLI; resolves { code, stdout, stderr } when it ends. `stderr()` and `stdout()` on the
 * returned handle read what has come so far. SIGKILLed by pid at the test's end if still running.
 */
function cli(t, args, { timeout = 60_000 } = {}) {
  const env = { ...process.env };
  delete env.DEBUG;
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
  const ended = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`zerolb ${args.join(" ")} did not end within ${timeout} ms\n${stderr}`)), timeout);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  ended.catch(() => {});
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGKILL");
    await ended.catch(() => {});
  });
  return { child, ended, stdout: () => stdout, stderr: () => stderr };
}

function writeKeys(dir, name) {
  const pair = curveKeyPair();
  const path = join(dir, `${name}.key.json`);
  writeFileSync(path, JSON.stringify(pair), { mode: 0o600 });
  return { ...pair, path };
}

t.test("zerolb worker - runs a .ts handler module under tsx", async (t) => {
  // Before: ERR_UNKNOWN_FILE_EXTENSION ".ts" (only local workers got tsx's loader).
  const lb = createLb(t, { workers: 0, endpoint: "tcp://127.0.0.1:0" });
  await lb.ready;
  const worker = startWorker(t, lb.endpoint, { module: fixture("typed.ts") });
  const failed = worker.exited.then(({ code }) => {
    throw new Error(`zerolb worker exited (code ${code}) before the map ended:\n${worker.stderr}`);
  });
  t.same(await Promise.race([collect(lb.map(range(5, (n) => ({ n })))), failed]), range(5, (n) => ({ n, squared: n * n })));
  process.kill(worker.pid, "SIGTERM");
  t.same(await worker.exited, { code: 0, signal: null }, "and leaves cleanly on SIGTERM");
});

t.test("zerolb dot - prints the DOT of a Pipeline exported by a .ts module", async (t) => {
  const { code, stdout, stderr } = await cli(t, ["dot", fixture("pipeline.ts")]).ended;
  t.equal(code, 0, stderr);
  t.match(stdout, /^digraph "pipeline" \{/);
  t.match(stdout, /"links" \[label="links\\n\(extractLinks\)"\];/);
  t.match(stdout, /"text" -> "store";/);
});

t.test("zerolb map --endpoint - a non-loopback endpoint without Curve names the flags that fix it, and binds nothing", async (t) => {
  // Before: the LoadBalancer's message told the user to set options.curve, which the CLI had no flag for.
  const input = join(tmpDir(t), "in.jsonl");
  writeFileSync(input, "1\n");
  const { code, stderr } = await cli(t, ["map", fixture("ops.js"), input, "--endpoint", "tcp://0.0.0.0:0"]).ended;
  t.equal(code, 2, "a usage error");
  t.match(stderr, /--endpoint tcp:\/\/0\.0\.0\.0:0 is not a loopback address: encrypt it with --curve-key-file .* --allow .* or pass --insecure/);
});

t.test("zerolb map - the endpoint flags are checked against each other", async (t) => {
  const dir = tmpDir(t);
  const input = join(dir, "in.jsonl");
  writeFileSync(input, "1\n");
  const broker = writeKeys(dir, "broker");
  const bad = join(dir, "bad.json");
  writeFileSync(bad, "{}");
  const cases = [
    [["--insecure"], /--insecure applies to the remote endpoint: add --endpoint/],
    [["--curve-key-file", broker.path], /--curve-key-file applies to the remote endpoint/],
    [["--endpoint", "tcp://127.0.0.1:0", "--allow", broker.publicKey], /--allow needs --curve-key-file/],
    [["--endpoint", "tcp://127.0.0.1:0", "--curve-key-file", bad], /--curve-key-file .*bad\.json has no 40-character Z85 "publicKey"/],
    [["--endpoint", "tcp://127.0.0.1:0", "--curve-key-file", broker.path, "--allow", "not-a-key"], /--allow must be 40 Z85 characters .* received "not-a-key"/],
  ];
  for (const [flags, message] of cases) {
    const { code, stderr } = await cli(t, ["map", fixture("ops.js"), input, ...flags]).ended;
    t.equal(code, 2, `${flags.join(" ")}: a usage error`);
    t.match(stderr, message, `${flags.join(" ")}: says why`);
    t.notOk(stderr.includes(broker.secretKey), "never shows a secret key");
  }
});

t.test("zerolb map --endpoint --curve-key-file --allow - only allowed workers join, encrypted", async (t) => {
  const dir = tmpDir(t);
  const broker = writeKeys(dir, "broker");
  const allowed = writeKeys(dir, "worker");
  const stranger = writeKeys(dir, "stranger");
  const input = join(dir, "in.jsonl");
  writeFileSync(input, range(20).join("\n") + "\n");
  const loud = cli(t, ["map", fixture("ops.js"), input, "--workers", "0", "--endpoint", "tcp://127.0.0.1:0", "--curve-key-file", broker.path, "--allow", allowed.path]);
  const [, endpoint, serverKey] = await waitFor(() => /remote workers can join at (tcp:\/\/127\.0\.0\.1:\d+): zerolb worker .* --server-key (\S+)/.exec(loud.stderr()), {
    timeout: 30_000, what: "the endpoint line on stderr",
  });
  t.equal(serverKey, broker.publicKey, "the line tells workers the server key");
  const refused = startWorker(t, endpoint, { module: fixture("ops.js"), args: ["--server-key", broker.path, "--key-file", stranger.path] });
  await refused.waitForLog(/refused the handshake \(auth/);
  startWorker(t, endpoint, { module: fixture("ops.js"), args: ["--server-key", broker.path, "--key-file", allowed.path] });
  const { code, stdout, stderr } = await loud.ended;
  t.equal(code, 0, stderr);
  t.same(stdout.trim().split("\n").map(Number), range(20, (i) => i * 2), "every result, through the allowed worker");
});

t.test("zerolb map - writes values JSON has no type for as its help says", async (t) => {
  // Before: a returned Error was written as {} and a Float64Array as {"0":1.5,...}.
  const input = join(tmpDir(t), "in.jsonl");
  writeFileSync(input, '{"make":"error"}\n{"make":"typedArrays"}\n');
  const { code, stdout, stderr } = await cli(t, ["map", fixture("values.js"), input, "--workers", "1", "--quiet"]).ended;
  t.equal(code, 0, stderr);
  const [error, arrays] = stdout.trim().split("\n").map((line) => JSON.parse(line));
  t.same(error, { ok: false, err: { name: "RangeError", message: "out of range", code: "E_RANGE", limit: 10, cause: { name: "Error", message: "the root" } } });
  t.same(arrays.f64, [1.5, -2.25, null], "a Float64Array as numbers (NaN as null, as JSON does)");
  t.same(arrays.big, [String(-(2n ** 63n)), "1"], "a BigInt64Array as decimal strings");
  t.equal(arrays.buffer, "AQID", "an ArrayBuffer as base64");
  t.equal(arrays.view, "CQgH", "a DataView as base64");
});

t.test("zerolb map / worker - millisecond flags are bounded as the library's options are", async (t) => {
  // Before: --grace 2147483648 made Node fire the grace timer at once (so Ctrl-C stopped running
  // tasks without grace), and --reconnect-max-interval past an int reached ZeroMQ as EINVAL.
  const input = join(tmpDir(t), "in.jsonl");
  writeFileSync(input, "1\n");
  const cases = [
    [["map", fixture("ops.js"), input, "--grace", "2147483648"], /--grace must be an integer >= 0 and <= 2147483647/],
    [["map", fixture("ops.js"), input, "--timeout", "3e9"], /--timeout must be a positive number up to 2147483647/],
    [["worker", fixture("ops.js"), "--connect", "tcp://127.0.0.1:1", "--reconnect-max-interval", "3000000000"], /--reconnect-max-interval must be an integer >= 100 and <= 2147483647/],
    [["worker", fixture("ops.js"), "--connect", "tcp://127.0.0.1:1", "--heartbeat-interval", "3000000"], /--heartbeat-interval × --heartbeat-liveness must be at most 6553599 ms/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await cli(t, args).ended;
    t.equal(code, 2, `${args.slice(-2).join(" ")}: a usage error`);
    t.match(stderr, message);
  }
});
