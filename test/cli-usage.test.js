// The CLI's surface: usage errors (exit 2 with a hint), --help of every command, --version, the shebang.
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { fixture, tmpDir } from "./helpers.js";
import { CLI, HANDLER, PKG, runCli, writeInput } from "./cli-helpers.js";

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
  const commands = {
    worker: ["--connect", "--concurrency", "--server-key", "--key-file", "--heartbeat-interval", "--heartbeat-liveness", "--reconnect-max-interval", "--name", "--quiet"],
    dot: ["--export", "--name"],
  };
  for (const [command, flags] of Object.entries(commands)) {
    const help = await runCli(t, [command, "--help"]);
    t.equal(help.code, 0, `${command} --help`);
    for (const option of flags) t.match(help.stdout, new RegExp(`e\\.g\\.\\s+${option}`), `${command} --help lists ${option} with an example`);
    t.match(help.stdout, /Examples:/, `${command} --help has examples`);
  }
  const viaHelp = await runCli(t, ["help", "map"]);
  t.equal(viaHelp.stdout, map.stdout, "zerolb help map = zerolb map --help");
});

t.test("the built CLI is executable through its shebang", async (t) => {
  const mode = statSync(CLI).mode;
  t.ok(readFileSync(CLI, "utf8").startsWith("#!/usr/bin/env node\n"), "shebang");
  if (mode & 0o111) t.equal(execFileSync(CLI, ["--version"], { encoding: "utf8" }).trim(), PKG.version);
  else t.pass("not executable in this build (npm sets the bit on install); run with node");
});
