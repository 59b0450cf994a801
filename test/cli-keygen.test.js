// `zerolb keygen`: Curve key pairs as JSON, on stdout or in a file of mode 0600.
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { tmpDir } from "./helpers.js";
import { runCli } from "./cli-helpers.js";

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
