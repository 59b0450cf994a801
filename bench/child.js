// Runs one workload with one peer in a fresh process and reports over IPC:
//   { ok: true, metrics, info, versions } or { ok: false, error }.
// Started by run.js as `node bench/child.js '<json spec>'`; spec = { workload, peer, params }.
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { WORKLOADS } from "./workloads.js";
import { delta, sample } from "./lib/proc.js";

const spec = JSON.parse(process.argv[2]);
const workload = WORKLOADS.find((w) => w.id === spec.workload);
const params = spec.params;
let pool;
let phase = "starting";
let phaseStart = performance.now();

/** Tells the parent where this child is, so a run that times out says where it hung. */
function enter(name) {
  phase = name;
  phaseStart = performance.now();
  process.send?.({ phase: name });
}

// The parent's time limit: report where we are (and the pool's own view), then force-close.
process.once("SIGTERM", async () => {
  let info;
  try {
    info = pool?.info();
  } catch (err) {
    info = String(err);
  }
  await report({ ok: false, error: `timed out in phase "${phase}" after ${Math.round(performance.now() - phaseStart)} ms`, info });
  try {
    await pool?.forceClose();
  } finally {
    process.exit(143);
  }
});

function report(message) {
  return new Promise((resolve) => {
    if (!process.send) {
      console.log(JSON.stringify(message));
      return resolve();
    }
    process.send(message, () => resolve());
  });
}

async function main() {
  if (!workload) throw new Error(`unknown workload ${spec.workload}`);
  const importStart = performance.now();
  const peer = await import(`./peers/${spec.peer}.js`);
  const importMs = performance.now() - importStart;
  const handler = fileURLToPath(new URL(`./handlers/${params.handler}`, import.meta.url));

  enter("create → ready");
  const t0 = performance.now();
  pool = peer.create({ handler, workers: params.workers, concurrency: params.concurrency });
  // A peer without a start-up promise of its own (piscina) has ready === undefined: no readyMs.
  const readyMs = pool.ready === undefined ? undefined : (await pool.ready, performance.now() - t0);
  enter("first task");
  await pool.call(0);
  const firstResultMs = performance.now() - t0;
  enter("warm-up");
  await pool.warm();
  const warmMs = performance.now() - t0;

  const timed = async (fn) => {
    const before = sample(pool.processes());
    const start = performance.now();
    const value = await fn();
    const ms = performance.now() - start;
    return { ms, value, resources: delta(before, sample(pool.processes())) };
  };
  enter("run");
  const result = await workload.run(pool, params, { timed });
  const info = pool.info();
  const pids = pool.processes().map((p) => p.pid);

  enter("close");
  const c0 = performance.now();
  await pool.close();
  const closeMs = performance.now() - c0;
  pool = undefined;

  const { resources, ...metrics } = result;
  await report({
    ok: true,
    peerVersion: peer.version,
    metrics: { importMs, readyMs, firstResultMs, warmMs, closeMs, ...metrics },
    resources,
    info,
    pids, // the parent checks that they are gone once this process has exited
  });
}

main().then(
  () => process.disconnect?.(),
  async (err) => {
    try {
      await pool?.forceClose();
    } catch {
      // already failing
    }
    await report({ ok: false, error: err?.stack ?? String(err) });
    process.disconnect?.();
    process.exitCode = 1;
  },
);
