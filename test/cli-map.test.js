// `zerolb map`, run as a user would: JSON Lines in, JSON Lines out, in order or not, options.
import t from "tap";
import { range } from "./helpers.js";
import { HANDLER, jsonl, parseLines, runCli, writeInput } from "./cli-helpers.js";

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
  const r2 = await runCli(t, ["map", HANDLER, a, "-", b, "--workers", "1"], { input: "100\n" });
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

t.test("DEBUG=zerolb:* shows logs of the CLI, the broker and the workers on stderr", async (t) => {
  const r = await runCli(t, ["map", HANDLER, "--workers", "1"], { input: "1\n2\n", env: { DEBUG: "zerolb:*" } });
  t.equal(r.code, 0, r.stderr);
  t.same(parseLines(r.stdout), [2, 4], "stdout stays clean");
  // Each line is tagged with its role and its process id.
  for (const role of ["cli", "broker", "worker"]) t.match(r.stderr, new RegExp(`zerolb:${role} \\[\\d+\\] `), `lines of the ${role}, with its pid`);
  const pids = new Set([...r.stderr.matchAll(/zerolb:(?:broker|worker) \[(\d+)\]/g)].map((m) => m[1]));
  t.ok(pids.size >= 2, `the broker and the worker are distinct processes (${[...pids]})`);
});

t.test("--endpoint is passed to the LoadBalancer", async (t) => {
  // Only the LoadBalancer refuses a plain-text endpoint that is not on loopback: the refusal proves
  // the option reached it, and it is a usage error that names the problem.
  const refused = await runCli(t, ["map", HANDLER, "--workers", "1", "--endpoint", "tcp://0.0.0.0:0"], { input: "21\n" });
  t.equal(refused.code, 2, "exit 2");
  t.match(refused.stderr, /--endpoint tcp:\/\/0\.0\.0\.0:0 is not a loopback address: encrypt it with --curve-key-file/);
  t.equal(refused.stdout, "");
  const r = await runCli(t, ["map", HANDLER, "--workers", "1", "--endpoint", "tcp://127.0.0.1:0"], { input: "21\n" });
  t.equal(r.code, 0, r.stderr);
  t.same(parseLines(r.stdout), [42], "a loopback endpoint is bound and the map runs");
});
