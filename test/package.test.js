// The package as another project gets it from a git URL: npm clones the repository, installs
// its dependencies, runs `prepare` (the build) and packs it. Here, offline and in well under a
// minute: this checkout's files (tracked and new, no dist/) are copied, `npm pack` runs `prepare`
// in the copy with this checkout's node_modules linked (as npm would have installed them), and the
// tarball is unpacked into a project whose dependencies are linked to the same packages. That
// checks what the install yields (files, build, exports, bin) without a registry; resolving the
// dependency tree is npm's own business. Then the project imports it (ESM), requires it (CommonJS,
// on Node versions that can require ES modules), runs a map with each, and runs the CLI.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import t from "tap";
import { tmpDir } from "./helpers.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
/** Node >= 20.19 and >= 22.12 can require() an ES module without a flag. */
const canRequireEsm = process.features.require_module === true;

const npmEnv = {
  ...process.env, npm_config_offline: "true", npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false",
  npm_config_loglevel: "error",
};

t.test("npm pack of a fresh checkout runs prepare, and the package works from ESM, CommonJS and its CLI", async (t) => {
  const dir = tmpDir(t);
  const src = join(dir, "src");
  const { stdout: listed } = await run("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: root });
  for (const file of listed.split("\0").filter(Boolean)) {
    if (!existsSync(join(root, file))) continue; // deleted in the working tree
    mkdirSync(dirname(join(src, file)), { recursive: true });
    cpSync(join(root, file), join(src, file));
  }
  t.notOk(existsSync(join(src, "dist")), "the copy has no dist/, as a fresh clone");
  symlinkSync(join(root, "node_modules"), join(src, "node_modules"));

  const packed = join(dir, "packed");
  mkdirSync(packed);
  await run("npm", ["pack", "--pack-destination", packed], { cwd: src, env: npmEnv, timeout: 120_000 });
  const [tarball] = readdirSync(packed);
  t.equal(tarball, `zerolb-${pkg.version}.tgz`);

  // The project that installs it: zerolb unpacked into its node_modules, zerolb's own
  // dependencies linked beside it.
  const app = join(dir, "app");
  const installed = join(app, "node_modules", "zerolb");
  mkdirSync(installed, { recursive: true });
  await run("tar", ["-xzf", join(packed, tarball), "-C", installed, "--strip-components=1"]);
  for (const name of Object.keys(pkg.dependencies)) {
    mkdirSync(dirname(join(app, "node_modules", name)), { recursive: true });
    symlinkSync(join(root, "node_modules", name), join(app, "node_modules", name));
  }
  for (const file of ["dist/index.js", "dist/index.d.ts", "dist/cli.js", "dist/broker/main.js", "dist/worker/main.js", "README.md"]) {
    t.ok(existsSync(join(installed, file)), `${file} is in the package (built by prepare)`);
  }
  t.notOk(existsSync(join(installed, "lib")), "sources stay out");
  t.notOk(existsSync(join(installed, "test")), "tests stay out");

  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true }));
  writeFileSync(join(app, "handler.mjs"), "export default (x) => x * 2;\n");
  const mapTwice = (lb) => `(async () => {
  const lb = ${lb};
  const out = [];
  for await (const r of lb.map([1, 2, 3])) out.push(r);
  await lb.close();
  console.log(JSON.stringify(out));
})().catch((err) => { console.error(err); process.exit(1); });
`;
  writeFileSync(join(app, "esm.mjs"), `import { LoadBalancer, Pipeline, TaskError } from "zerolb";
if (typeof Pipeline !== "function" || typeof TaskError !== "function") throw new Error("missing exports");
${mapTwice('new LoadBalancer({ worker: "./handler.mjs", workers: 1 })')}`);
  const esm = await run(process.execPath, ["esm.mjs"], { cwd: app, timeout: 30_000 });
  t.equal(esm.stdout.trim(), "[2,4,6]", "import from ESM, and a map runs");

  writeFileSync(join(app, "cjs.cjs"), `const { LoadBalancer } = require("zerolb");
${mapTwice('new LoadBalancer({ worker: "./handler.mjs", workers: 1 })')}`);
  if (canRequireEsm) {
    const cjs = await run(process.execPath, ["--no-warnings", "cjs.cjs"], { cwd: app, timeout: 30_000 });
    t.equal(cjs.stdout.trim(), "[2,4,6]", "require() from CommonJS, and a map runs");
  } else {
    t.skip(`require("zerolb") from CommonJS: Node ${process.version} cannot require ES modules (it needs >= 20.19 or >= 22.12)`);
  }

  const bin = join(installed, pkg.bin.zerolb);
  t.ok(statSync(bin).mode & 0o111, "the bin is executable");
  const version = await run(bin, ["--version"], { cwd: app, timeout: 30_000 });
  t.equal(version.stdout.trim(), pkg.version, "the CLI runs from the package");
});
