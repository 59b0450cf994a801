// Where the ipc socket files go (README, Troubleshooting): a short private directory under $TMPDIR,
// or under /tmp when $TMPDIR is too long for an ipc path (107 bytes); removed by close().
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { collect, createLb, fixture, within } from "./helpers.js";

/** A fresh directory whose path is exactly `length` characters long, removed when the test ends. */
function directoryOfLength(t, length) {
  const base = mkdtempSync("/tmp/zerolb-long-");
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  let path = base;
  while (path.length < length) path = join(path, "d".repeat(Math.min(40, length - path.length - 1)));
  mkdirSync(path, { recursive: true });
  t.equal(path.length, length, `a $TMPDIR of ${length} characters`);
  return path;
}

/** Sets $TMPDIR for this test (children inherit it); restored when the test ends. */
function withTmpdir(t, dir) {
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  t.teardown(() => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
  });
}

const mine = (dir) => readdirSync(dir).filter((name) => name.startsWith(`zlb-${process.pid}-`));

t.test("ipc - with a long $TMPDIR the sockets go to a directory in /tmp; close() removes it", async (t) => {
  const long = directoryOfLength(t, 150);
  withTmpdir(t, long);
  const lb = createLb(t, { workers: 1 });
  await lb.ready;
  t.same(await collect(lb.map([1, 2])), [2, 4], "the LoadBalancer works");
  t.same(mine(long), [], "nothing in $TMPDIR");
  t.equal(mine("/tmp").length, 1, "its ipc directory is in /tmp");
  await lb.close();
  t.same(mine("/tmp"), [], "close() removed it");
});

t.test("ipc - with a short $TMPDIR the sockets go there; close() removes them", async (t) => {
  const short = directoryOfLength(t, 40);
  withTmpdir(t, short);
  const lb = createLb(t, { workers: 1 });
  await lb.ready;
  t.same(await collect(lb.map([3])), [6]);
  t.equal(mine(short).length, 1, "its ipc directory is in $TMPDIR");
  await lb.close();
  t.same(mine(short), [], "close() removed it");
});

t.test(
  "ipc - a $TMPDIR just short enough for the length check still works",
  async (t) => {
    // 88 characters pass a check of "<dir>/zlb-XXXXXX/backend" against 107 bytes, but the real path
    // "<dir>/zlb-<pid>-XXXXXX/frontend" is longer. In a process of its own: if the constructor
    // throws, the socket it left open would keep this one alive.
    const edge = directoryOfLength(t, 88);
    const script = `import { LoadBalancer } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
const lb = new LoadBalancer({ worker: ${JSON.stringify(fixture("ops.js"))}, workers: 1 });
await lb.ready;
const out = [];
for await (const v of lb.map([1])) out.push(v);
await lb.close();
console.log(JSON.stringify(out));`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, TMPDIR: edge }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    const exited = new Promise((resolve) => child.on("close", (code) => resolve(code)));
    t.teardown(async () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGKILL");
      await exited;
    });
    const code = await within(exited, 60_000, "the caller process").catch((err) => err.message);
    t.equal(code, 0, `the LoadBalancer started, ran and closed (${stderr.match(/^.*Error.*$/m)?.[0] ?? "no error on stderr"})`);
    t.equal(stdout, "[2]\n", "its map gave [2]");
    const left = readdirSync(edge).filter((name) => name.startsWith(`zlb-${child.pid}-`));
    t.same(left, [], "and left no ipc directory");
  },
);
