// The ipc directory: its socket paths always fit in 107 bytes. With a long (or missing) TMPDIR
// the LoadBalancer falls back to /tmp, as documented; where nothing fits it says so clearly. It
// never throws a raw ENAMETOOLONG and never leaves a directory behind.
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import * as zmq from "zeromq";
import { LoadBalancer, StartupError } from "../dist/index.js";
import { IPC_PATH_LIMIT, IpcDirectory } from "../dist/caller/ipc-directory.js";
import { collect, fixture, ipcDirsLeft, tmpDir } from "./helpers.js";

/** A directory whose path is exactly `length` bytes, inside `root`. */
function dirOfLength(root, length) {
  const pad = length - root.length - 1;
  if (pad < 1) throw new Error(`root ${root} is too long for ${length}`);
  const path = join(root, "d".repeat(pad));
  mkdirSync(path, { recursive: true });
  return path;
}

const mine = (dir) => readdirSync(dir).filter((name) => name.startsWith(`zlb-${process.pid}-`));

/** Runs `fn` with TMPDIR set to `dir`, and puts it back. */
async function withTmpdir(dir, fn) {
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
  }
}

t.test("IpcDirectory - every socket path it makes fits, at every TMPDIR length around the limit", async (t) => {
  // The old check counted "zlb-XXXXXX" and "backend": up to 9 bytes short (the pid, "-", and
  // "frontend"). A real socket binds at the longest path, so the rule matches the kernel's.
  const root = tmpDir(t);
  for (let length = 70; length <= 100; length++) {
    const base = dirOfLength(root, length);
    let dir;
    try {
      dir = new IpcDirectory([base]);
    } catch (err) {
      t.ok(err instanceof StartupError, `${length}: a StartupError when it cannot fit`);
      t.same(mine(base), [], `${length}: nothing created`);
      continue;
    }
    try {
      for (const name of ["frontend", "backend"]) {
        const endpoint = dir.endpoint(name);
        t.ok(Buffer.byteLength(endpoint.slice("ipc://".length)) <= IPC_PATH_LIMIT, `${length}: ${name} fits`);
      }
      const router = new zmq.Router({ linger: 0 });
      await router.bind(dir.endpoint("frontend"));
      router.close();
    } finally {
      dir.remove();
    }
  }
});

t.test("IpcDirectory - with no base that fits, a clear StartupError and nothing created", async (t) => {
  const root = tmpDir(t);
  const long = dirOfLength(root, 120);
  t.throws(() => new IpcDirectory([long, join(root, "missing")]), {
    name: "StartupError",
    code: "ERR_ZEROLB_STARTUP",
    message: /no directory for the ipc socket files \(.*: its socket paths would be \d+ bytes; .*missing: ENOENT\): ipc socket paths can be at most 107 bytes; set TMPDIR to a short directory/,
  });
  t.same(mine(long), []);
});

for (const [what, length] of [["just past the old check's reach", 88], ["far too long", 200]]) {
  t.test(`new LoadBalancer() - a TMPDIR ${what} (${length} bytes) falls back to /tmp`, async (t) => {
    // At 88 bytes the old check passed and the constructor threw a raw "File name too long",
    // leaving a directory in TMPDIR.
    const long = dirOfLength(tmpDir(t), length);
    const lb = await withTmpdir(long, () => new LoadBalancer({ worker: fixture("ops.js"), workers: 1 }));
    try {
      t.same(mine(long), [], "nothing in the long TMPDIR");
      t.equal(mine("/tmp").length, 1, "its directory is in /tmp");
      t.same(await collect(lb.map([1, 2])), [2, 4]);
    } finally {
      await lb.close();
    }
    t.same(mine("/tmp"), [], "and is gone after close()");
    t.same(ipcDirsLeft(), []);
  });
}

t.test("new LoadBalancer() - a TMPDIR that does not exist falls back to /tmp", async (t) => {
  const missing = join(tmpDir(t), "not-there");
  const lb = await withTmpdir(missing, () => new LoadBalancer({ worker: fixture("ops.js"), workers: 1 }));
  try {
    t.same(await collect(lb.map([3])), [6]);
  } finally {
    await lb.close();
  }
  t.notOk(existsSync(missing), "nothing made where TMPDIR pointed");
  t.same(ipcDirsLeft(), []);
});

t.teardown(() => {
  for (const name of mine("/tmp")) rmSync(join("/tmp", name), { recursive: true, force: true });
});
