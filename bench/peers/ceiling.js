// The CEILING: a hand-written DEALER/ROUTER pipeline with zerolb's topology (this process ->
// broker child process -> `workers` worker child processes, ipc) and none of its features: no
// reliability, no ordering, no retries, no per-task ids. What ZeroMQ + msgpack can do at best on
// this machine, as a reference for W1.
//   - The caller sends batches of BATCH (100) tasks, one msgpack frame each, and keeps at most
//     WINDOW tasks outstanding.
//   - The broker (./ceiling/broker.js) never decodes a batch: a u32 header frame carries its task
//     count, and it forwards the frame as is to a worker with enough credit (CREDIT = 200 tasks
//     per worker), then the worker's result batch to the caller.
//   - Workers (./ceiling/worker.js) decode, call the handler on each item, encode the results.
// Results come back in whatever order the workers finish batches: `ordered` is ignored.
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { Dealer } from "zeromq";
import { Decoder, Encoder } from "@msgpack/msgpack";
import { BATCH, CREDIT, u32 } from "./ceiling/common.js";

export const name = "ceiling";
export const version = `zeromq ${createRequire(import.meta.url)("zeromq/package.json").version}`;
export const supports = ["noop.js"];
export const WINDOW = Number(process.env.CEILING_WINDOW ?? 2048); // tasks outstanding (CEILING_WINDOW to try others)

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const BROKER = here("./ceiling/broker.js");
const WORKER = here("./ceiling/worker.js");

/** `sum` convention: numbers add their value, binary results their byteLength. */
const measure = (x) => (typeof x === "number" ? x : ArrayBuffer.isView(x) ? x.byteLength : 0);

export function create({ handler, workers, concurrency }) {
  // Short path (ipc paths are limited to 107 bytes), named like zerolb's so leftovers are found.
  const dir = mkdtempSync(join("/tmp", `zlb-${process.pid}-ceiling-`));
  const children = [];
  const exits = [];
  const spawn = (script, args, role) => {
    const child = fork(script, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    children.push({ role, child });
    exits.push(new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", resolve))));
    return child;
  };
  const broker = spawn(BROKER, [dir], "broker");
  for (let i = 0; i < workers; i++) spawn(WORKER, [dir, handler], "workers");

  let closing = false;
  let failure;
  const died = new Promise((_, reject) => {
    for (const { role, child } of children)
      child.once("exit", (code, signal) => {
        if (closing) return;
        failure = new Error(`ceiling ${role} ${child.pid} exited (${signal ?? `code ${code}`})`);
        reject(failure);
        sink?.fail(failure);
      });
  });
  died.catch(() => {});

  const ready = new Promise((resolve, reject) => {
    broker.on("message", (m) => {
      if (m.ready === workers) resolve();
    });
    died.catch(reject);
  });

  const dealer = new Dealer({ sendHighWaterMark: 0, receiveHighWaterMark: 0, linger: 0, reconnectInterval: 5, reconnectMaxInterval: 100 });
  dealer.connect(`ipc://${dir}/f`);
  const encoder = new Encoder();
  const decoder = new Decoder();

  let sink; // { batch(results), fail(err) } of the running stream
  void (async () => {
    for await (const [, body] of dealer) sink.batch(decoder.decode(body));
  })().catch((err) => sink?.fail(err));

  let queue = Promise.resolve(); // one stream at a time (one sender on the DEALER)
  function runStream(items, onResult) {
    const op = queue.then(async () => {
      await ready;
      if (failure) throw failure;
      const it = items[Symbol.iterator]();
      let sent = 0;
      let received = 0;
      let wake; // resolves when results come back
      let error;
      sink = {
        batch(results) {
          for (let i = 0; i < results.length; i++) onResult(results[i]);
          received += results.length;
          wake?.();
        },
        fail(err) {
          error ??= err;
          wake?.();
        },
      };
      const space = () => new Promise((resolve) => (wake = resolve));
      let done = false;
      while (!done) {
        while (sent - received + BATCH > WINDOW && !error) await space();
        if (error) throw error;
        const batch = [];
        while (batch.length < BATCH) {
          const r = it.next();
          if (r.done) {
            done = true;
            break;
          }
          batch.push(r.value);
        }
        if (batch.length) {
          sent += batch.length;
          await dealer.send([u32(batch.length), encoder.encode(batch)]);
        }
      }
      while (received < sent && !error) await space();
      if (error) throw error;
    });
    queue = op.catch(() => {});
    return op;
  }

  const stats = () =>
    new Promise((resolve) => {
      if (!broker.connected) return resolve(undefined);
      const on = (m) => {
        if (!m.stats) return;
        broker.off("message", on);
        resolve(m.stats);
      };
      broker.on("message", on);
      broker.send({ stats: true });
    });
  let lastStats;

  async function shut(signal) {
    if (signal === "SIGTERM") await queue; // close(): after the running stream; forceClose(): now
    closing = true;
    sink?.fail(new Error("ceiling closed"));
    dealer.close();
    for (const { child } of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    }
    const timer = setTimeout(() => {
      for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }, 5000);
    await Promise.all(exits);
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  }

  return {
    ready,
    async call(item) {
      let value;
      await runStream([item], (v) => (value = v));
      return value;
    },
    async stream(items) {
      let count = 0;
      let sum = 0;
      await runStream(items, (v) => {
        count++;
        sum += measure(v);
      });
      return { count, sum };
    },
    async warm() {
      // Until the broker has seen every worker run a batch.
      const deadline = Date.now() + 30_000;
      const batch = Array.from({ length: workers * CREDIT * 2 }, (_, i) => i);
      do await this.stream(batch);
      while ((lastStats = await stats()) && lastStats.filter((w) => w.done > 0).length < workers && Date.now() < deadline);
    },
    processes: () =>
      children.filter(({ child }) => child.exitCode === null && child.signalCode === null).map(({ role, child }) => ({ role, pid: child.pid })),
    info: () => ({ batch: BATCH, credit: CREDIT, window: WINDOW, workers: lastStats, requestedConcurrency: concurrency, ordered: false }),
    close: () => shut("SIGTERM"),
    forceClose: () => shut("SIGKILL"),
  };
}
