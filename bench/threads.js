// Where each process spends its CPU, thread by thread: the JavaScript main thread, ZeroMQ's I/O
// thread, and Node's and V8's helper threads (garbage collection, the compiler, libuv's pool), as
// CPU µs and voluntary context switches (sleeps) per task, from /proc/<pid>/task/*. For one peer
// (zerolb, or the ceiling: a bare zeromq.js pipeline through the same three processes), either one
// task at a time (W4's round trips) or a map of many (C's shape with busy1ms.js).
//
//   npm run build && node bench/threads.js --lone --peer ceiling --count 6000
//   node bench/threads.js --lone --peer zerolb --count 6000
//   node bench/threads.js --map --handler busy1ms.js --count 4000       ZEROLB_DIST=/other/dist picks a build
//
// /proc counts CPU in 10 ms ticks: use counts whose run takes a second or more.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { statCpuMs, voluntarySwitches } from "./lib/proc.js";

const { values: args } = parseArgs({
  options: {
    peer: { type: "string", default: "zerolb" },
    handler: { type: "string", default: "noop.js" },
    count: { type: "string", default: "4000" },
    lone: { type: "boolean", default: false },
    map: { type: "boolean", default: false },
  },
});
if (args.lone === args.map) throw new Error("say --lone (one task at a time) or --map (a map of --count tasks)");
const count = Number(args.count);

/** CPU ms and voluntary switches of each thread group of process `pid`. */
function threads(pid) {
  const groups = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const dir = `/proc/${pid}/task/${tid}`;
      const name = readFileSync(`${dir}/comm`, "utf8").trim();
      const group = tid === String(pid) ? "main" : name.startsWith("ZMQbg/IO") ? "zmq-io" : name.startsWith("ZMQbg") ? "zmq-other" : "helpers";
      groups[group] ??= { ms: 0, sleeps: 0 };
      groups[group].ms += statCpuMs(`${dir}/stat`);
      groups[group].sleeps += voluntarySwitches(`${dir}/status`);
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return groups;
}

const peer = await import(`./peers/${args.peer}.js`);
const handler = fileURLToPath(new URL(`./handlers/${args.handler}`, import.meta.url));
const pool = peer.create({ handler, workers: 2, concurrency: 1 });
await pool.ready;
await pool.warm?.();
const run = async (n) => {
  if (args.lone) for (let i = 0; i < n; i++) await pool.call(i);
  else await pool.stream(Array.from({ length: n }, (_, i) => i));
};
await run(Math.min(count, 3000)); // warm-up: every process's code compiled
const procs = [{ role: "caller", pid: process.pid }, ...pool.processes()];
const before = procs.map((p) => threads(p.pid));
const t0 = performance.now();
await run(count);
const ms = performance.now() - t0;
console.log(`${args.peer}, ${args.lone ? "one task at a time" : "one map"}, ${count} × ${args.handler}: ${ms.toFixed(0)} ms, ${((ms * 1000) / count).toFixed(0)} µs per task`);
procs.forEach((p, i) => {
  const after = threads(p.pid);
  const cells = Object.keys(after).sort().map((g) => {
    const cpu = ((after[g].ms - (before[i][g]?.ms ?? 0)) * 1000) / count;
    const sleeps = (after[g].sleeps - (before[i][g]?.sleeps ?? 0)) / count;
    return `${g} ${cpu.toFixed(0)} µs ${sleeps.toFixed(2)} sleeps`;
  });
  console.log(`  ${p.role.padEnd(8)} ${String(p.pid).padEnd(7)} ${cells.join(" | ")}  (per task)`);
});
await pool.close();
