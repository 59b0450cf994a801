// The zerolb CLI, run as a user would: `node dist/cli.js …` in a child process.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { alive, fixture, range, tmpDir, waitFor } from "./helpers.js";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const HANDLER = fixture("cli-handler.js");
const PKG = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

/** Env for the CLI: no DEBUG, no TTY hints from the test runner, unless asked. */
function cliEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  if (!("DEBUG" in extra)) delete env.DEBUG;
  delete env.FORCE_COLOR;
  return env;
}

/**
 * Runs the CLI to the end; resolves { code, signal, stdout, stderr }. Killed (and the test failed)
 * if it runs past `timeout`.
 */
function runCli(t, args, { input, env, timeout = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(env), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`zerolb ${args.join(" ")} did not end within ${timeout} ms\nstderr: ${stderr}`));
    }, timeout);
    t.teardown(() => {
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on("error", () => {});
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

const jsonl = (values) => values.map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join("\n") + "\n";
const lines = (text) => text.split("\n").filter(Boolean);
const parseLines = (text) => lines(text).map((l) => JSON.parse(l));

function writeInput(t, name, values) {
  const path = join(tmpDir(t), name);
  writeFileSync(path, jsonl(values));
  return path;
}

/** Pids of the direct children of `pid` (the broker and local workers of a CLI run). */
function childPids(pid) {
  const r = spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" });
  return r.stdout.split("\n").map((s) => Number(s.trim())).filter((n) => n > 0);
}

const hasScript = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;

t.test("map: JSON Lines from a file in, one JSON line per result out, in input order", async (t) => {
  const file = writeInput(t, "numbers.jsonl", range(200, (i) => i));
  const r = await runCli(t, ["map", HANDLER, file, "--workers", "2"]);
  t.equal(r.code, 0, r.stderr);
  t.same(parseLines(r.stdout), range(200, (i) => i * 2));
  t.ok(r.stdout.endsWith("\n"), "ends with a line break");
  t.equal(r.stderr, "", "no progress or summary when stderr is not a terminal");
});

t.test("map: reads stdin when no file is given, and '-' as a file; files in order; blank lines skipped", async (t) => {
  const r1 = await runCli(t, ["map", HANDLER, "--workers", "1"], { input: "1\n\n2\r\n  \n3" });
  t.equal(r1.code, 0, r1.stderr);
  t.same(parseLines(r1.stdout), [2, 4, 6], "CRLF, blank lines and a missing final newline are fine");
  const a = writeInput(t, "a.jsonl", [1, 2]);
  const b = writeInput(t, "b.jsonl", [10, 20]);
  const r2 = await runCli(t, ["map", HANDLER, a, "-", b, "--workers", "2"], { input: "100\n" });
  t.equal(r2.code, 0, r2.stderr);
  t.same(parseLines(r2.stdout), [2, 4, 200, 20, 40]);
});

t.test("map --unordered: results in completion order", async (t) => {
  const file = writeInput(t, "in.jsonl", [{ sleep: 600, value: "slow" }, { sleep: 1, value: "fast" }]);
  const ordered = await runCli(t, ["map", HANDLER, file, "--workers", "1", "--concurrency", "2"]);
  t.same(parseLines(ordered.stdout), ["slow", "fast"]);
  const r = await runCli(t, ["map", HANDLER, file, "--workers", "1", "--concurrency", "2", "--unordered"]);
  t.equal(r.code, 0, r.stderr);
  t.same(parseLines(r.stdout), ["fast", "slow"]);
});

t.test("map --fn: calls a named export", async (t) => {
  const r = await runCli(t, ["map", HANDLER, "--fn", "square", "--workers", "1"], { input: jsonl([1, 2, 3]) });
  t.equal(r.code, 0, r.stderr);
  t.same(parseLines(r.stdout), [1, 4, 9]);
  const missing = await runCli(t, ["map", HANDLER, "--fn", "nope", "--workers", "1"], { input: "1\n" });
  t.equal(missing.code, 1, "an unknown export fails the task");
  t.match(missing.stderr, /nope/);
});

t.test("map: values JSON cannot carry are written as documented (bigint: string, bytes: base64)", async (t) => {
  const r = await runCli(t, ["map", HANDLER, "--fn", "exotic", "--workers", "1"], { input: "1\n" });
  t.equal(r.code, 0, r.stderr);
  t.same(parseLines(r.stdout), [{ big: String(2n ** 60n), small: "-5", bytes: "AQID+g==", buffer: "aGk=", when: "1970-01-01T00:00:00.000Z", nothing: null }]);
});

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
  const r = await runCli(t, ["map", HANDLER, file, "--settled", "--workers", "2"]);
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
    const r = await runCli(t, ["map", HANDLER, file, "--settled", "--workers", "2", ...order]);
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

t.test("usage errors exit 2 with a hint", async (t) => {
  const file = writeInput(t, "in.jsonl", [1]);
  const cases = [
    [["map"], /missing required argument 'module'/],
    [["map", HANDLER, file, "--workers", "-1"], /--workers must be an integer/],
    [["map", HANDLER, file, "--concurrency", "0"], /--concurrency must be an integer/],
    [["map", HANDLER, file, "--timeout", "soon"], /--timeout must be a positive number/],
    [["map", HANDLER, file, "--worker-data", "{x"], /--worker-data must be JSON/],
    [["map", HANDLER, file, "--bogus"], /unknown option '--bogus'/],
    [["map", HANDLER, file, "--progress", "--quiet"], /cannot be used with option '-q, --quiet'/],
    [["map", HANDLER, join(tmpDir(t), "missing.jsonl")], /cannot read .*missing\.jsonl: ENOENT/],
    [["map", fixture("no-such-handler.js"), file], /cannot find the handler module/],
    [["map", HANDLER, file, "--workers", "0"], /--workers 0 leaves no worker/],
    [["nope"], /unknown command 'nope'/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(t, args);
    t.equal(r.code, 2, `exit 2: ${args.join(" ")}`);
    t.match(r.stderr, message, args.join(" "));
    t.match(r.stderr, /--help/, "hints at --help");
    t.equal(r.stdout, "", "nothing on stdout");
  }
});

t.test("map: a handler module that cannot start fails the run (exit 1) with the cause", async (t) => {
  const dir = tmpDir(t);
  const broken = join(dir, "broken.js");
  writeFileSync(broken, "export const notAFunction = 1;\n");
  const r = await runCli(t, ["map", broken, "--workers", "1"], { input: "1\n" });
  t.equal(r.code, 1);
  t.match(r.stderr, /could not start/);
});

t.test("--help and <command> --help describe every option, with examples; --version", async (t) => {
  const top = await runCli(t, ["--help"]);
  t.equal(top.code, 0);
  for (const word of ["map", "keygen", "--version", "--help", "Examples:"]) t.match(top.stdout, word);
  const version = await runCli(t, ["--version"]);
  t.equal(version.stdout.trim(), PKG.version);

  const map = await runCli(t, ["map", "--help"]);
  t.equal(map.code, 0);
  const options = [
    "--fn", "--workers", "--concurrency", "--unordered", "--settled", "--timeout", "--endpoint",
    "--high-water-mark", "--worker-data", "--grace", "--progress", "--quiet",
  ];
  for (const option of options) {
    t.match(map.stdout, new RegExp(`${option}\\b`), `map --help lists ${option}`);
    t.match(map.stdout, new RegExp(`e\\.g\\.\\s+${option}`), `with an example of ${option}`);
  }
  for (const word of ["Exit codes:", "base64", "bigint", "Examples:", "index"]) t.match(map.stdout, word);

  const keygen = await runCli(t, ["keygen", "--help"]);
  t.equal(keygen.code, 0);
  for (const option of ["--out", "--force"]) t.match(keygen.stdout, new RegExp(`e\\.g\\.\\s+${option}`));
  const viaHelp = await runCli(t, ["help", "map"]);
  t.equal(viaHelp.stdout, map.stdout, "zerolb help map = zerolb map --help");
});

t.test("progress: a live line on stderr under a pseudo-terminal, none when piped", { skip: !hasScript && "util-linux script is missing" }, async (t) => {
  const dir = tmpDir(t);
  const input = join(dir, "in.jsonl");
  writeFileSync(input, jsonl(range(30, () => ({ sleep: 40, value: 1 }))));
  const out = join(dir, "out.jsonl");
  const quote = (s) => `'${s.replaceAll("'", "'\\''")}'`;
  const command = `${quote(process.execPath)} ${quote(CLI)} map ${quote(HANDLER)} ${quote(input)} --workers 2 > ${quote(out)}`;
  const tty = spawnSync("script", ["-qfec", command, "/dev/null"], { encoding: "utf8", env: cliEnv({ COLUMNS: "120" }), timeout: 60_000 });
  t.equal(tty.status, 0, "exit 0 under a pseudo-terminal");
  t.equal(lines(readFileSync(out, "utf8")).length, 30, "results went to the file");
  const screen = tty.stdout;
  t.match(screen, /\r|\x1b\[/, "redrawn in place");
  t.match(screen, /100% 30\/30/, "done/total");
  t.match(screen, /\/s/, "rate");
  t.match(screen, /ETA/, "ETA while running");
  t.match(screen, /0 failed/, "failures");
  t.match(screen, /30 done, 0 failed in/, "summary");
  t.match(screen, /worker\s+\d+\s+pid \d+\s+local\s+\d+ tasks/, "per-worker split");

  const quiet = spawnSync("script", ["-qfec", `${command} --quiet`, "/dev/null"], { encoding: "utf8", env: cliEnv(), timeout: 60_000 });
  t.equal(quiet.status, 0);
  t.notMatch(quiet.stdout, /done|failed|ETA/, "--quiet: nothing");

  const piped = await runCli(t, ["map", HANDLER, input, "--workers", "2"]);
  t.equal(piped.stderr, "", "piped stderr: nothing");
  const forced = await runCli(t, ["map", HANDLER, input, "--workers", "2", "--progress"]);
  t.equal(forced.code, 0);
  t.notMatch(forced.stderr, /\x1b/, "--progress off a terminal: plain lines, no escape codes");
  t.match(forced.stderr, /100% 30\/30/);
  t.match(forced.stderr, /30 done, 0 failed in .*\n\s+worker/);
});

t.test("SIGINT: stops reading, finishes what runs, writes only complete lines, leaves no process", async (t) => {
  const dir = tmpDir(t);
  const pidFile = join(dir, "pids");
  const child = spawn(process.execPath, [CLI, "map", HANDLER, "--workers", "2", "--concurrency", "2", "--worker-data", JSON.stringify({ pidFile })], {
    env: cliEnv(), stdio: ["pipe", "pipe", "pipe"],
  });
  t.teardown(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"));
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
  // An endless input: the CLI must stop reading it.
  let written = 0;
  const feed = setInterval(() => {
    if (child.stdin.writable) child.stdin.write(jsonl(range(20, () => ({ sleep: 200, value: { n: ++written, pad: "x".repeat(2000) } }))));
  }, 20);
  t.teardown(() => clearInterval(feed));
  child.stdin.on("error", () => {});
  await waitFor(() => lines(stdout).length >= 8, { timeout: 30_000, what: "first results" });
  const pids = new Set([...childPids(child.pid), ...lines(readFileSync(pidFile, "utf8")).map(Number)]);
  t.ok(pids.size >= 3, `broker and workers seen (${[...pids]})`);
  const exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  child.kill("SIGINT");
  const { code } = await exited;
  clearInterval(feed);
  t.equal(code, 130, `exit 130 (stderr: ${stderr})`);
  t.ok(stdout.endsWith("\n"), "the output ends with a complete line");
  const rows = parseLines(stdout); // throws on a partial line
  t.same(rows.map((r) => r.n), range(rows.length, (i) => i + 1), "results in order, none missing");
  t.ok(rows.length < written, `stopped before the end of the input (${rows.length} of ${written} written)`);
  for (const pid of pids) await waitFor(() => !alive(pid), { timeout: 10_000, what: `process ${pid} to be gone` });
  t.pass("no broker or worker process left behind");
});

t.test("a second SIGINT stops at once, even with a task that never ends", async (t) => {
  const child = spawn(process.execPath, [CLI, "map", HANDLER, "--workers", "1", "--grace", "60000"], { env: cliEnv(), stdio: ["pipe", "pipe", "pipe"] });
  t.teardown(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"));
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
  child.stdin.write(jsonl([1, { hang: true }]));
  await waitFor(() => lines(stdout).length >= 1, { what: "first result" });
  const pids = childPids(child.pid);
  const exited = new Promise((resolve) => child.on("close", (code) => resolve(code)));
  child.kill("SIGINT");
  await new Promise((r) => setTimeout(r, 300));
  t.equal(child.exitCode, null, "still waiting for the running task");
  const start = Date.now();
  child.kill("SIGINT");
  t.equal(await exited, 130);
  t.ok(Date.now() - start < 10_000, "ended promptly");
  t.same(parseLines(stdout), [2]);
  for (const pid of pids) await waitFor(() => !alive(pid), { what: `process ${pid} to be gone` });
});

t.test("--grace: a task still running when the grace period ends is stopped", async (t) => {
  const child = spawn(process.execPath, [CLI, "map", HANDLER, "--workers", "1", "--grace", "500"], { env: cliEnv(), stdio: ["pipe", "pipe", "pipe"] });
  t.teardown(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"));
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
  child.stdin.write(jsonl([1, { hang: true }, 3]));
  await waitFor(() => lines(stdout).length >= 1, { what: "first result" });
  const pids = childPids(child.pid);
  const exited = new Promise((resolve) => child.on("close", (code) => resolve(code)));
  const start = Date.now();
  child.kill("SIGINT");
  t.equal(await exited, 130);
  const took = Date.now() - start;
  t.ok(took >= 400 && took < 10_000, `waited for the grace period, then stopped (${took} ms)`);
  t.same(parseLines(stdout), [2], "results done before the stop");
  for (const pid of pids) await waitFor(() => !alive(pid), { what: `process ${pid} to be gone` });
});

t.test("DEBUG=zerolb:* shows logs of the CLI, the broker and the workers on stderr", async (t) => {
  const r = await runCli(t, ["map", HANDLER, "--workers", "1"], { input: "1\n2\n", env: { DEBUG: "zerolb:*" } });
  t.equal(r.code, 0, r.stderr);
  t.same(parseLines(r.stdout), [2, 4], "stdout stays clean");
  t.match(r.stderr, /zerolb:cli/);
  t.match(r.stderr, /zerolb:broker/);
  t.match(r.stderr, /zerolb:worker/);
});

t.test("a reader that goes away (EPIPE) ends the run quietly and stops every process", async (t) => {
  const file = writeInput(t, "in.jsonl", range(20000, (i) => i));
  const r = spawnSync("bash", ["-c", `set -o pipefail; '${process.execPath}' '${CLI}' map '${HANDLER}' '${file}' --workers 2 | head -n 3; echo "status $?"`], {
    encoding: "utf8", env: cliEnv(), timeout: 60_000,
  });
  t.match(r.stdout, /^0\n2\n4\nstatus (0|141)\n$/);
  t.notMatch(r.stderr, /Error|EPIPE/, "no stack trace");
});

t.test("--endpoint is passed to the LoadBalancer", async (t) => {
  const r = await runCli(t, ["map", HANDLER, "--workers", "1", "--endpoint", "tcp://127.0.0.1:0"], { input: "21\n" });
  if (r.code === 2) {
    t.match(r.stderr, /endpoint|not supported/i, "an endpoint the library refuses is a usage error that names it");
  } else {
    t.equal(r.code, 0, r.stderr);
    t.same(parseLines(r.stdout), [42]);
  }
});

t.test("keygen: prints a Z85 Curve key pair as JSON", async (t) => {
  const r = await runCli(t, ["keygen"]);
  t.equal(r.code, 0, r.stderr);
  const pair = JSON.parse(r.stdout);
  t.same(Object.keys(pair).sort(), ["publicKey", "secretKey"]);
  t.match(pair.publicKey, /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/);
  t.match(pair.secretKey, /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/);
  const again = JSON.parse((await runCli(t, ["keygen"])).stdout);
  t.not(again.publicKey, pair.publicKey, "a new pair each time");
});

t.test("keygen --out: writes the pair with mode 0600 and prints the public key", async (t) => {
  const path = join(tmpDir(t), "key.json");
  const r = await runCli(t, ["keygen", "--out", path]);
  t.equal(r.code, 0, r.stderr);
  const pair = JSON.parse(readFileSync(path, "utf8"));
  t.equal(r.stdout.trim(), pair.publicKey, "stdout: the public key alone");
  t.equal(statSync(path).mode & 0o777, 0o600);
  const again = await runCli(t, ["keygen", "--out", path]);
  t.equal(again.code, 2, "an existing file is not replaced without --force");
  t.match(again.stderr, /exists; use --force/);
  t.same(JSON.parse(readFileSync(path, "utf8")), pair, "untouched");
  writeFileSync(path, "old", { mode: 0o644 });
  const forced = await runCli(t, ["keygen", "--out", path, "--force"]);
  t.equal(forced.code, 0);
  t.equal(statSync(path).mode & 0o777, 0o600, "mode 0600 even over an existing file");
  t.equal(JSON.parse(readFileSync(path, "utf8")).publicKey, forced.stdout.trim());
});

t.test("the built CLI is executable through its shebang", async (t) => {
  const mode = statSync(CLI).mode;
  t.ok(readFileSync(CLI, "utf8").startsWith("#!/usr/bin/env node\n"), "shebang");
  if (mode & 0o111) t.equal(execFileSync(CLI, ["--version"], { encoding: "utf8" }).trim(), PKG.version);
  else t.pass("not executable in this build (npm sets the bit on install); run with node");
});
