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

t.test("keygen --public-out: the public key alone in its own file (mode 0644), the secret only in --out", async (t) => {
  const dir = tmpDir(t);
  const secret = join(dir, "server.key.json");
  const pub = join(dir, "server.pub.json");
  const r = await runCli(t, ["keygen", "--out", secret, "--public-out", pub]);
  t.equal(r.code, 0, r.stderr);
  const pair = JSON.parse(readFileSync(secret, "utf8"));
  const publicOnly = JSON.parse(readFileSync(pub, "utf8"));
  t.same(publicOnly, { publicKey: pair.publicKey }, "the public key, and no secret");
  t.equal(statSync(pub).mode & 0o777, 0o644, "mode 0644: meant to be handed out");
  t.equal(statSync(secret).mode & 0o777, 0o600);
  t.equal(r.stdout.trim(), pair.publicKey);
  const again = await runCli(t, ["keygen", "--public-out", pub]);
  t.equal(again.code, 2, "an existing file is not replaced without --force");
  t.match(again.stderr, /exists; use --force/);
  const printed = await runCli(t, ["keygen", "--public-out", join(dir, "other.pub.json")]);
  t.equal(printed.code, 0);
  t.equal(JSON.parse(printed.stdout).publicKey, JSON.parse(readFileSync(join(dir, "other.pub.json"), "utf8")).publicKey, "without --out the pair is printed, its public key in the file");
  const same = await runCli(t, ["keygen", "--out", join(dir, "x.json"), "--public-out", join(dir, "x.json")]);
  t.equal(same.code, 2, "the same file for both is refused");
});
