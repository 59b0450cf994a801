#!/usr/bin/env node
// `zerolb map` over JSON Lines: W7's review records as a file, through the CLI with 2 workers,
// against the same work done in one process (read the lines, JSON.parse, the handler,
// JSON.stringify, write). Rounds interleave the runs; medians of records/s and of CPU µs per record
// (the command and every process it started, from the shell's `times`) are reported, and ratios.
//
//   npm run build && node bench/cli-jsonl.js [--records N] [--rounds N] [--handler record-id.js]
//                                            [--dist /other/build/dist]   (another build, side by side)
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { makeRecords } from "./lib/records.js";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const { values: args } = parseArgs({
  options: {
    records: { type: "string", default: "200000" },
    rounds: { type: "string", default: "3" },
    handler: { type: "string", default: "record-id.js" },
    dist: { type: "string", multiple: true },
  },
});
const n = Number(args.records);
const rounds = Number(args.rounds);
const handler = here(`./handlers/${args.handler}`);
const dir = mkdtempSync(join(os.tmpdir(), "zerolb-cli-bench-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
const input = join(dir, "records.jsonl");
writeFileSync(input, makeRecords(n).map((r) => JSON.stringify(r)).join("\n") + "\n");

const inProcess = join(dir, "in-process.mjs");
writeFileSync(
  inProcess,
  `import { createReadStream, createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
const { default: handle } = await import(${JSON.stringify(handler)});
const out = createWriteStream("/dev/null");
for await (const line of createInterface({ input: createReadStream(process.argv[2]) })) {
  if (line.length === 0) continue;
  if (!out.write(JSON.stringify(handle(JSON.parse(line))) + "\\n")) await new Promise((r) => out.once("drain", r));
}
out.end();
`,
);

const builds = args.dist?.length ? args.dist : [here("../dist")];
const runs = [
  ...builds.map((dist, i) => ({ name: builds.length > 1 ? `zerolb map [${i}]` : "zerolb map", cmd: `node ${dist}/cli.js map ${handler} ${input} --workers 2 --quiet > /dev/null` })),
  { name: "in-process loop", cmd: `node ${inProcess} ${input}` },
];

/** Wall ms and CPU ms (the shell's children: the command and every process below it). */
function time(cmd) {
  const out = execFileSync("bash", ["-c", `t0=$(date +%s%N); ${cmd}; t1=$(date +%s%N); echo "wall $(( (t1 - t0) / 1000000 ))"; times`], { encoding: "utf8" });
  const wall = Number(/wall (\d+)/.exec(out)[1]);
  const lines = out.trim().split("\n");
  const [user, sys] = lines[lines.length - 1].split(/\s+/).map((s) => { const m = /(\d+)m([\d.]+)s/.exec(s); return (Number(m[1]) * 60 + Number(m[2])) * 1000; });
  return { wall, cpu: user + sys };
}

const samples = new Map(runs.map((r) => [r.name, []]));
for (let round = 0; round < rounds; round++) {
  const order = runs.map((_, i) => runs[(i + round) % runs.length]);
  for (const run of order) {
    const t = time(run.cmd);
    samples.get(run.name).push(t);
    console.error(`[round ${round + 1}/${rounds}] ${run.name}: ${Math.round((n / t.wall) * 1000)} records/s, ${((t.cpu * 1000) / n).toFixed(2)} µs CPU/record`);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`\n${n.toLocaleString("en-US")} records (bench/lib/records.js as JSON Lines), handler ${args.handler}, 2 workers; medians of ${rounds} rounds; load ${os.loadavg()[0].toFixed(1)}`);
const rate = (name) => n / (median(samples.get(name).map((s) => s.wall)) / 1000);
for (const [name, s] of samples) console.log(`  ${name.padEnd(18)} ${Math.round(rate(name)).toLocaleString("en-US").padStart(9)} records/s   ${((median(s.map((x) => x.cpu)) * 1000) / n).toFixed(2).padStart(6)} µs CPU/record (all processes)`);
const base = runs[0].name;
for (const r of runs.slice(1)) console.log(`  ${base} / ${r.name}: ${(rate(base) / rate(r.name)).toFixed(2)}×`);
