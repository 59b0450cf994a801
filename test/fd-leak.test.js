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
  return { out, pids };
}

t.test(".close() - 30 create/close cycles leak no file descriptor", async (t) => {
  // Warm-up: libzmq's context (its I/O thread and reaper fds) is created with the first socket.
  await cycle();
  const before = openFds();
  const left = [];
  for (let i = 0; i < 30; i++) {
    const { out, pids } = await cycle();
    if (out.join() !== "2,4,6") t.fail(`cycle ${i} gave ${out}`);
    left.push(...pids.filter(alive));
  }
  const after = openFds();
  t.same(left, [], "every child of every cycle is gone");
  t.same(ipcDirsLeft(), [], "no ipc directory left");
  // A leak of one fd per cycle would show as 30 or more.
  t.ok(after - before <= 3, `fds: ${before} before, ${after} after 30 cycles`);
});
