// The progress line of `zerolb map` on stderr: live on a terminal (a pseudo-terminal made with
// util-linux `script`), plain lines with --progress, nothing when piped or with --quiet.
import { readFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import t from "tap";
import { range, tmpDir } from "./helpers.js";
import { CLI, cliEnv, HANDLER, jsonl, lines, runCli } from "./cli-helpers.js";

const hasScript = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;

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

  const piped = await runCli(t, ["map", HANDLER, input, "--workers", "1"]);
  t.equal(piped.stderr, "", "piped stderr: nothing");
  const forced = await runCli(t, ["map", HANDLER, input, "--workers", "1", "--progress"]);
  t.equal(forced.code, 0);
  t.notMatch(forced.stderr, /\x1b/, "--progress off a terminal: plain lines, no escape codes");
  t.match(forced.stderr, /100% 30\/30/);
  t.match(forced.stderr, /30 done, 0 failed in .*\n\s+worker/);
});
