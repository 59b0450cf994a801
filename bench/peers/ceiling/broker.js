// The ceiling's broker: ROUTER frontend (the caller) and ROUTER backend (the workers), both ipc.
// Forwards whole batch frames by credit without decoding them; results go back to the caller.
//   node broker.js <ipc dir>
// Reports { bound: true } over the IPC channel once both sockets are bound, { ready: n } as
// workers announce themselves, and answers { stats: true } with per-worker task counts.
import { rmSync } from "node:fs";
import { Router } from "zeromq";
import { Writer, exitOnSignal } from "./common.js";

const dir = process.argv[2];
const opts = { mandatory: true, sendHighWaterMark: 0, receiveHighWaterMark: 0, linger: 0 };
const frontend = new Router(opts);
const backend = new Router(opts);
// The caller removes the dir on close(); this covers a caller that exits without closing.
exitOnSignal([frontend, backend], () => rmSync(dir, { recursive: true, force: true }));
const toCaller = new Writer(frontend);
const toWorkers = new Writer(backend);

await frontend.bind(`ipc://${dir}/f`);
await backend.bind(`ipc://${dir}/b`);
process.send({ bound: true });

let caller; // routing id of the (single) caller
const queue = []; // [count, batch] waiting for credit
let qHead = 0;
const workers = []; // { id, credit, done }
const byId = new Map();
let next = 0; // round robin

function dispatch() {
  while (qHead < queue.length) {
    const msg = queue[qHead];
    const n = msg[0].readUInt32LE(0);
    let w;
    for (let i = 0; i < workers.length; i++) {
      const c = workers[(next + i) % workers.length];
      if (c.credit >= n) {
        w = c;
        next = (next + i + 1) % workers.length;
        break;
      }
    }
    if (!w) break;
    w.credit -= n;
    queue[qHead++] = undefined;
    toWorkers.push([w.id, msg[0], msg[1]]);
  }
  if (qHead === queue.length) {
    queue.length = 0;
    qHead = 0;
  }
}

process.on("message", (m) => {
  if (m.stats) process.send({ stats: workers.map((w) => ({ done: w.done, credit: w.credit })) });
});

void (async () => {
  for await (const [id, hdr, batch] of frontend) {
    caller = id;
    queue.push([hdr, batch]);
    dispatch();
  }
})();

for await (const frames of backend) {
  const id = frames[0];
  const n = frames[1].readUInt32LE(0);
  if (frames.length === 2) {
    // a worker's first message: its credit
    const w = { id, credit: n, done: 0 };
    workers.push(w);
    byId.set(id.toString("latin1"), w);
    process.send({ ready: workers.length });
  } else {
    const w = byId.get(id.toString("latin1"));
    w.credit += n;
    w.done += n;
    toCaller.push([caller, frames[1], frames[2]]);
  }
  dispatch();
}
