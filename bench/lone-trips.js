// One task at a time (W4), with what each process does per round trip: p50 and p99, and from /proc
// the read/write syscalls, the main thread's voluntary context switches and the CPU time per round
// trip of the caller, the broker and each worker. zerolb against the ceiling peer (a bare four-hop
// zeromq.js round trip through the same three processes), in one process, one after the other.
//
//   npm run build && node bench/lone-trips.js [--trips 5000]      ZEROLB_DIST=/other/dist picks a build
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { statCpuMs, voluntarySwitches } from "./lib/proc.js";

const trips = Number(process.argv[process.argv.indexOf("--trips") + 1] || 5000);
const handler = fileURLToPath(new URL("./handlers/noop.js", import.meta.url));
const io = (pid) => {
  const text = readFileSync(`/proc/${pid}/io`, "utf8");
  return ["syscr", "syscw"].reduce((sum, k) => sum + Number(new RegExp(`${k}: (\\d+)`).exec(text)[1]), 0);
};
const sleeps = (pid) => voluntarySwitches(`/proc/${pid}/status`);
const cpuMs = (pid) => statCpuMs(`/proc/${pid}/stat`);

for (const name of ["ceiling", "zerolb"]) {
  const peer = await import(`./peers/${name}.js`);
  const pool = peer.create({ handler, workers: 2, concurrency: 1 });
  await pool.ready;
  await pool.call(0);
  await pool.warm?.();
  for (let i = 0; i < 3000; i++) await pool.call(i);
  const procs = [{ role: "caller", pid: process.pid }, ...pool.processes()];
  const before = procs.map((p) => [io(p.pid), sleeps(p.pid), cpuMs(p.pid)]);
  const times = [];
  for (let i = 0; i < trips; i++) {
    const t0 = process.hrtime.bigint();
    await pool.call(i);
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  const after = procs.map((p) => [io(p.pid), sleeps(p.pid), cpuMs(p.pid)]);
  times.sort((a, b) => a - b);
  console.log(`${name}: p50 ${times[trips >> 1].toFixed(0)} µs, p99 ${times[Math.floor(trips * 0.99)].toFixed(0)} µs`);
  procs.forEach((p, i) => {
    const per = (k, scale = 1) => (((after[i][k] - before[i][k]) * scale) / trips).toFixed(2);
    console.log(`  ${p.role.padEnd(8)} ${String(p.pid).padEnd(7)} syscalls ${per(0)}  sleeps ${per(1)}  CPU ${per(2, 1000)} µs  per round trip`);
  });
  await pool.close();
}
