// Where the allocations are under W1 (or another handler and shape): bytes allocated per task by the
// caller, the broker and the workers, and the functions that allocate them, over the measured phase. Allocation drives the
// young-generation GC, and what survives a scavenge drives V8's growth of the young generation
// (W5's caller RSS): see "Allocation" in bench/README.md.
//
//   npm run build && node bench/alloc.js [--tasks 300000] [--top 12]
//   node bench/alloc.js --handler sleep10.js --workers 8 --concurrency 100 --tasks 100000   # W6
//
// The caller samples itself with V8's sampling heap profiler (every ~512 bytes, objects already
// collected included) around the measured map only; broker and workers load ./lib/alloc-sampler.js
// and sample their whole life (start-up and the warm-up map included: a few MB of the totals).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { bySite } from "./lib/alloc-sampler.js";

const { values: args } = parseArgs({
  options: {
    tasks: { type: "string", default: "300000" },
    warmup: { type: "string", default: "50000" },
    top: { type: "string", default: "12" },
    handler: { type: "string", default: "noop.js" }, // a file in ./handlers/
    workers: { type: "string", default: "2" },
    concurrency: { type: "string", default: "1" },
  },
});
const tasks = Number(args.tasks);
const warmup = Number(args.warmup);
const top = Number(args.top);

const dir = mkdtempSync(join(tmpdir(), "zerolb-alloc-"));
process.env.ZEROLB_ALLOC_DIR = dir;
process.env.ZEROLB_CHILD_FLAGS = `${process.env.ZEROLB_CHILD_FLAGS ?? ""} --import=${pathToFileURL(fileURLToPath(new URL("./lib/alloc-sampler.js", import.meta.url)))}`.trim();
const { LoadBalancer } = await import("../dist/index.js");

function* items(n) {
  for (let i = 0; i < n; i++) yield i;
}
async function drain(lb, n) {
  let sum = 0;
  for await (const v of lb.map(items(n))) sum += v;
  if (sum !== (n * (n - 1)) / 2) throw new Error(`wrong sum ${sum}`);
}

const lb = new LoadBalancer({ worker: new URL(`./handlers/${args.handler}`, import.meta.url), workers: Number(args.workers), concurrency: Number(args.concurrency) });
await lb.ready;
await drain(lb, warmup);
const session = new Session();
session.connect();
await session.post("HeapProfiler.enable");
await session.post("HeapProfiler.startSampling", { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
await drain(lb, tasks);
const { profile } = await session.post("HeapProfiler.stopSampling");
session.disconnect();
await lb.close();

const roles = { caller: [bySite(profile)], broker: [], worker: [] };
for (const file of readdirSync(dir)) roles[file.split("-")[0]]?.push(JSON.parse(readFileSync(join(dir, file), "utf8")));
rmSync(dir, { recursive: true, force: true });

console.log(`allocation per task: ${tasks} measured tasks (caller) after ${warmup}; broker and workers over ${tasks + warmup} tasks and start-up`);
for (const [role, profiles] of Object.entries(roles)) {
  const sites = {};
  for (const p of profiles) for (const [site, bytes] of Object.entries(p)) sites[site] = (sites[site] ?? 0) + bytes;
  const perTask = role === "caller" ? tasks : tasks + warmup;
  const total = Object.values(sites).reduce((a, b) => a + b, 0);
  console.log(`\n${role} (${profiles.length} process${profiles.length === 1 ? "" : "es"}): ${(total / perTask).toFixed(0)} B/task`);
  for (const [site, bytes] of Object.entries(sites).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${(bytes / perTask).toFixed(1).padStart(7)}  ${site}`);
  }
}
