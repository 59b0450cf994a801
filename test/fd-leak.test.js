// Creating and closing LoadBalancers over and over leaks no file descriptor.
import { readdirSync } from "node:fs";
import t from "tap";
import { LoadBalancer } from "../dist/index.js";
import { alive, collect, fixture, ipcDirsLeft } from "./helpers.js";

const openFds = () => readdirSync("/proc/self/fd").length;

async function cycle() {
  const lb = new LoadBalancer({ worker: fixture("ops.js"), workers: 1 });
  await lb.ready;
  const pids = [lb.pids.broker, ...lb.pids.workers];
  const out = await collect(lb.map([1, 2, 3]));
  await lb.close();
  return { out, pids, fds: openFds() };
}

t.test(".close() - 15 create/close cycles leak no file descriptor", async (t) => {
  // Warm-up: libzmq's context (its I/O thread and reaper fds) is created with the first socket.
  // The count after a cycle wavers by one (a descriptor of libzmq's that comes and goes), so each
  // end of the run is the lower of two counts.
  const first = [(await cycle()).fds, (await cycle()).fds];
  const counts = [];
  const left = [];
  for (let i = 0; i < 15; i++) {
    const { out, pids, fds } = await cycle();
    if (out.join() !== "2,4,6") t.fail(`cycle ${i} gave ${out}`);
    left.push(...pids.filter(alive));
    counts.push(fds);
  }
  t.same(left, [], "every child of every cycle is gone");
  t.same(ipcDirsLeft(), [], "no ipc directory left");
  const before = Math.min(...first);
  const after = Math.min(...counts.slice(-2));
  // A leak of one fd in every 8 cycles or more would show as 2 or more.
  t.ok(after - before <= 1, `fds: ${before} before, ${after} after 15 cycles (each cycle: ${counts.join(" ")})`);
});
