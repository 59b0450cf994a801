// Python's multiprocessing: a driver script (./python/driver.py) runs
// `multiprocessing.Pool(workers).imap(fn, items, chunksize=1)` (imap_unordered when unordered)
// with the Python equivalent of the handler (./python/handlers.py, keyed by the JS file name).
// Items go to the driver's stdin and results come back on its stdout, framed as
// [type: 1 byte][length: u32 LE][payload] records (int64, float64, raw bytes; see driver.py), so
// Buffers travel as raw bytes. Node writes items in batches and waits for 'drain'; the pool's task
// thread reads them from stdin only as fast as the workers take them, so a 1,000,000-item
// generator is never materialized. One task at a time per pool process: `concurrency` > 1 is not
// honoured (info() says so).
import { spawn, execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";

export const name = "python";
export const supports = ["noop.js", "sleep10.js", "echo.js", "busy1ms.js"];

const PYTHON = process.env.PYTHON ?? "python3";
const DRIVER = fileURLToPath(new URL("./python/driver.py", import.meta.url));

let probed;
try {
  probed = execFileSync(PYTHON, ["-c", "import multiprocessing, platform; print(platform.python_version())"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 10_000,
  }).trim();
} catch (err) {
  probed = undefined;
  var reason = `${PYTHON} not usable: ${err.code === "ENOENT" ? "not found" : (err.stderr?.toString().trim() || err.message).split("\n").pop()}`;
}
export const unavailable = probed === undefined ? reason : undefined;
export const version = probed ?? "none";

const BATCH_BYTES = 64 * 1024;
const BATCH_ITEMS = 4096;

/** `sum` convention: numbers add their value, binary results their byteLength. */
const measure = (x) => (typeof x === "number" ? x : ArrayBuffer.isView(x) ? x.byteLength : 0);

/** Linux: the pids of every child of `pid` (over all its threads), from /proc. */
function childrenOf(pid) {
  const out = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const s = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (s) for (const c of s.split(" ")) out.push(Number(c));
    }
  } catch {
    return undefined; // not Linux, or the process is gone
  }
  return out;
}

export function create({ handler, workers, concurrency }) {
  if (unavailable) throw new Error(unavailable);
  const key = basename(handler);
  if (!supports.includes(key)) throw new Error(`python peer: no Python equivalent of ${key}`);

  const child = spawn(PYTHON, [DRIVER, key, String(workers)], { stdio: ["pipe", "pipe", "inherit"] });
  const stdin = child.stdin;
  let exited = false;
  let helloPids; // [driver, ...pool workers] from the driver's first record
  const exit = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  exit.then(() => (exited = true));
  stdin.on("error", () => {}); // EPIPE when the driver dies; reported through `exit`

  // --- results: records parsed incrementally from stdout, handed to the current operation ---
  let pending = Buffer.alloc(0);
  let sink; // { result(value), end(), fail(err) } of the running stream
  let onHello;
  const ready = new Promise((resolve, reject) => {
    onHello = resolve;
    exit.then(({ code, signal }) => reject(new Error(`python driver exited (${signal ?? `code ${code}`}) before it started`)));
  });
  ready.catch(() => {}); // reported by whoever awaits it
  exit.then(({ code, signal }) => sink?.fail(new Error(`python driver exited (${signal ?? `code ${code}`})`)));

  child.stdout.on("data", (chunk) => {
    let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= 5) {
      const n = buf.readUInt32LE(off + 1);
      if (buf.length - off - 5 < n) break;
      const t = buf[off];
      const p = off + 5;
      off = p + n;
      switch (t) {
        case 0x71: // q
          sink.result(Number(buf.readBigInt64LE(p)));
          break;
        case 0x64: // d
          sink.result(buf.readDoubleLE(p));
          break;
        case 0x62: // b
          sink.result(buf.subarray(p, p + n));
          break;
        case 0x6e: // n
          sink.result(null);
          break;
        case 0x73: // s
          sink.result(buf.toString("utf8", p, p + n));
          break;
        case 0x45: // E
          sink.end();
          break;
        case 0x58: // X
          sink.fail(new Error(`python: ${buf.toString("utf8", p, p + n)}`));
          break;
        case 0x50: // P
          helloPids = JSON.parse(buf.toString("utf8", p, p + n));
          onHello();
          break;
        default:
          sink?.fail(new Error(`python peer: unexpected record type ${t}`));
          child.kill("SIGKILL");
          return;
      }
    }
    pending = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
  });

  // --- items: framed in batches, written with backpressure ---
  const header = (t, n) => {
    const h = Buffer.allocUnsafe(5);
    h[0] = t;
    h.writeUInt32LE(n, 1);
    return h;
  };
  const drain = () =>
    new Promise((resolve) => {
      const done = () => {
        stdin.off("drain", done);
        resolve();
      };
      stdin.on("drain", done);
      exit.then(done);
    });

  let queue = Promise.resolve(); // one stream at a time on the pipe
  function runStream(items, ordered, onResult) {
    const op = queue.then(async () => {
      await ready;
      let failed;
      let stop = false;
      const finished = new Promise((resolve, reject) => {
        sink = {
          result: onResult,
          end: () => resolve(),
          fail: (err) => {
            stop = true;
            failed ??= err;
            reject(err);
          },
        };
      });
      finished.catch(() => {});
      stdin.write(Buffer.from([0x53, 1, 0, 0, 0, ordered ? 1 : 0])); // S
      const it = items[Symbol.iterator]();
      let batch = Buffer.allocUnsafe(BATCH_BYTES);
      let used = 0;
      let inBatch = 0;
      const flushBatch = async (last) => {
        if (used) stdin.write(batch.subarray(0, used));
        if (last && !exited) stdin.write(header(0x45, 0)); // E
        batch = Buffer.allocUnsafe(BATCH_BYTES);
        used = 0;
        inBatch = 0;
        if (!last && stdin.writableNeedDrain && !exited) await drain();
      };
      for (let r = it.next(); ; r = it.next()) {
        if (r.done || stop || exited) {
          await flushBatch(true);
          break;
        }
        const x = r.value;
        if (typeof x === "number") {
          if (used + 13 > BATCH_BYTES) await flushBatch(false);
          if (Number.isSafeInteger(x)) {
            batch[used] = 0x71;
            batch.writeUInt32LE(8, used + 1);
            batch.writeBigInt64LE(BigInt(x), used + 5);
          } else {
            batch[used] = 0x64;
            batch.writeUInt32LE(8, used + 1);
            batch.writeDoubleLE(x, used + 5);
          }
          used += 13;
        } else if (ArrayBuffer.isView(x)) {
          // Binary items go out as they are (no copy): the batch so far, a header, the bytes.
          if (used) stdin.write(batch.subarray(0, used));
          batch = Buffer.allocUnsafe(BATCH_BYTES);
          used = 0;
          stdin.write(header(0x62, x.byteLength));
          stdin.write(Buffer.isBuffer(x) ? x : Buffer.from(x.buffer, x.byteOffset, x.byteLength));
          if (stdin.writableNeedDrain && !exited) await drain();
        } else if (x === null || x === undefined) {
          if (used + 5 > BATCH_BYTES) await flushBatch(false);
          batch[used] = 0x6e;
          batch.writeUInt32LE(0, used + 1);
          used += 5;
        } else {
          const s = Buffer.from(typeof x === "string" ? x : JSON.stringify(x));
          if (used) stdin.write(batch.subarray(0, used));
          batch = Buffer.allocUnsafe(BATCH_BYTES);
          used = 0;
          stdin.write(header(0x73, s.length));
          stdin.write(s);
          if (stdin.writableNeedDrain && !exited) await drain();
        }
        if (++inBatch >= BATCH_ITEMS) await flushBatch(false);
      }
      if (exited && !failed) sink.fail(new Error("python driver exited"));
      await finished;
    });
    queue = op.catch(() => {});
    return op;
  }

  return {
    ready,
    async call(item) {
      let value;
      await runStream([item], true, (v) => (value = v));
      return value;
    },
    async stream(items, { ordered = true } = {}) {
      let count = 0;
      let sum = 0;
      await runStream(items, ordered, (v) => {
        count++;
        sum += measure(v);
      });
      return { count, sum };
    },
    async warm() {
      await this.stream(Array.from({ length: workers * 4 }, (_, i) => i), { ordered: false });
    },
    processes() {
      if (exited) return [];
      const kids = childrenOf(child.pid) ?? helloPids?.slice(1) ?? [];
      return [{ role: "driver", pid: child.pid }, ...kids.map((pid) => ({ role: "workers", pid }))];
    },
    info: () => ({ pids: helloPids, pool: workers, tasksPerWorker: 1, requestedConcurrency: concurrency, chunksize: 1 }),
    async close() {
      await queue;
      if (!exited) {
        stdin.end(header(0x51, 0)); // Q: the driver closes and joins its pool, then exits
        const timer = setTimeout(() => this.forceClose(), 10_000);
        await exit;
        clearTimeout(timer);
      }
      killOrphans();
    },
    async forceClose() {
      // The pool's processes first, while they are surely the driver's children, then the driver.
      if (!exited) for (const pid of childrenOf(child.pid) ?? []) kill(pid);
      if (!exited) child.kill("SIGKILL");
      await exit;
      killOrphans();
    },
  };

  /** Pool processes that outlived a driver that died: only those still running driver.py. */
  function killOrphans() {
    for (const pid of helloPids?.slice(1) ?? []) {
      let cmdline;
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        continue; // gone (or no /proc)
      }
      if (cmdline.includes(DRIVER)) kill(pid);
    }
  }
}

function kill(pid) {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}
