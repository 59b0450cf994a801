#!/usr/bin/env node
// zerolb benchmark: every workload × peer in a fresh child process, several rounds with the peers
// interleaved (and their order rotated each round), then medians, ratios, a table and results.json.
//
//   node bench/run.js [--quick] [--rounds N] [--only S,W1,...] [--peers zerolb,piscina,...]
//                     [--out FILE] [--markdown]
//   node bench/run.js --report bench/results.json [--markdown]     (re-print a saved run)
import { fork, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { markdownTable, summarize, tableRows, textTable } from "./report.js";
import { WORKLOADS } from "./workloads.js";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const CHILD = here("./child.js");

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    only: { type: "string" },
    peers: { type: "string" },
    out: { type: "string" },
    markdown: { type: "boolean", default: false },
    report: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (args.help) {
  console.log(`Usage: node bench/run.js [options]   (npm run bench -- [options])

  --quick            1 round, smaller sizes (under 2 minutes)
  --rounds N         rounds (default 3; 1 with --quick)
  --only IDS         comma-separated workload ids (${WORKLOADS.map((w) => w.id).join(", ")})
  --peers NAMES      comma-separated peers (default: each workload's own list)
  --out FILE         where to write the JSON results (default bench/results.json,
                     bench/results-quick.json with --quick)
  --markdown         print the table as Markdown
  --report FILE      print the table of a saved results file and exit

Environment: ZEROLB_DIST=/path/to/dist benchmarks another build of zerolb.`);
  process.exit(0);
}

function print(results) {
  const rows = tableRows(results.summary);
  console.log(args.markdown ? markdownTable(rows) : textTable(rows));
}

if (args.report) {
  print(JSON.parse(readFileSync(args.report, "utf8")));
  process.exit(0);
}

const quick = args.quick;
const rounds = Number(args.rounds ?? (quick ? 1 : 3));
if (!Number.isInteger(rounds) || rounds < 1) throw new TypeError(`--rounds must be a positive integer; received ${args.rounds}`);
const only = args.only?.split(",").map((s) => s.trim());
const peerFilter = args.peers?.split(",").map((s) => s.trim());
const out = args.out ?? here(quick ? "./results-quick.json" : "./results.json");

const workloads = WORKLOADS.filter((w) => !only || only.includes(w.id)).map((w) => ({
  ...w,
  peers: w.peers.filter((p) => !peerFilter || peerFilter.includes(p)),
  resolvedParams: w.params({ quick }),
}));
if (only) for (const id of only) if (!WORKLOADS.some((w) => w.id === id)) throw new TypeError(`unknown workload ${id}`);

// Benchmark a private copy of dist/: a rebuild during the run (someone running `npm test`) would
// otherwise hand half-written files, or a broker and workers of different versions, to the children.
let snapshot;
if (!process.env.ZEROLB_DIST) {
  snapshot = mkdtempSync(join(os.tmpdir(), "zerolb-bench-"));
  cpSync(here("../dist"), join(snapshot, "dist"), { recursive: true });
  symlinkSync(here("../node_modules"), join(snapshot, "node_modules"), "dir");
  process.env.ZEROLB_DIST = join(snapshot, "dist");
  process.on("exit", () => rmSync(snapshot, { recursive: true, force: true }));
}

let current; // the child running now, killed on Ctrl-C
process.on("SIGINT", () => {
  current?.kill("SIGTERM");
  process.exit(130);
});

/** Runs one workload × peer in a fresh process; resolves to its report (never rejects). */
function runOne(w, peer) {
  const spec = { workload: w.id, peer, params: w.resolvedParams };
  const timeoutMs = w.timeoutMs?.(w.resolvedParams) ?? 300_000;
  return new Promise((resolve) => {
    const started = Date.now();
    const child = fork(CHILD, [JSON.stringify(spec)], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: w.execArgv ?? [] });
    current = child;
    let report;
    let reportedAt = 0;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
      setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"), 5000).unref();
    }, timeoutMs);
    // A child that reported but does not exit left something running (a handle, a child process).
    let hangTimer;
    let phase = "starting";
    child.on("message", (m) => {
      if (m.phase) return void (phase = m.phase);
      report = m;
      reportedAt = Date.now();
      hangTimer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      clearTimeout(hangTimer);
      current = undefined;
      const wallMs = Date.now() - started;
      const exitAfterReportMs = reportedAt ? Date.now() - reportedAt : undefined;
      if (timedOut) return resolve({ ok: false, error: `timed out after ${timeoutMs} ms (${report?.error ?? `phase "${phase}"`})`, info: report?.info, wallMs });
      if (!report) return resolve({ ok: false, error: `child exited (${signal ?? `code ${code}`}) without a report`, wallMs });
      const hung = signal === "SIGKILL" && reportedAt > 0;
      const left = leftovers(child.pid, report.pids ?? []);
      resolve({ ...report, wallMs, exitAfterReportMs, ...(hung ? { exitHang: true } : {}), ...(left.length ? { leftovers: left } : {}) });
    });
  });
}

/** What a finished child left behind: live processes among `pids`, zerolb ipc directories of its pid. */
function leftovers(pid, pids) {
  const left = [];
  for (const p of pids) {
    try {
      process.kill(p, 0);
      left.push(`process ${p} still running`);
    } catch {
      // gone, as it should be
    }
  }
  for (const dir of new Set([os.tmpdir(), "/tmp"])) {
    try {
      for (const name of readdirSync(dir)) if (name.startsWith(`zlb-${pid}-`)) left.push(`${dir}/${name}`);
    } catch {
      // unreadable tmp dir
    }
  }
  return left;
}

/** A short hash of the files ending in `ext` under `root`, or undefined. */
function treeHash(root, ext) {
  try {
    const hash = createHash("sha256");
    const walk = (dir) => {
      for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const p = `${dir}/${e.name}`;
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith(ext)) hash.update(p.slice(root.length)).update(readFileSync(p));
      }
    };
    walk(root);
    return hash.digest("hex").slice(0, 12);
  } catch {
    return undefined;
  }
}

/** Which zerolb was measured: the commit, whether lib/ had uncommitted changes, hashes of lib/ and dist/. */
function gitInfo() {
  const info = {};
  try {
    info.commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: here("."), encoding: "utf8" }).trim();
    info.libDirty = execFileSync("git", ["status", "--porcelain", "--", "lib"], { cwd: here(".."), encoding: "utf8" }).trim() !== "";
  } catch {
    // not a git checkout
  }
  info.libSha256 = treeHash(here("../lib"), ".ts");
  info.distSha256 = treeHash(process.env.ZEROLB_DIST, ".js");
  if (!snapshot) info.dist = process.env.ZEROLB_DIST;
  return info;
}

function shortLine(w, peer, r) {
  if (!r.ok) return `FAILED: ${String(r.error).split("\n")[0]}`;
  const main = w.metrics.find((m) => Number.isFinite(r.metrics[m.key])) ?? w.metrics[0];
  const v = r.metrics[main.key];
  return `${main.label} ${Number.isFinite(v) ? v.toFixed(main.digits) : v} ${main.unit} (${(r.wallMs / 1000).toFixed(1)} s)`;
}

const startedAt = new Date();
const zerolb = gitInfo(); // before the rounds: lib/ may change while they run
const machine = {
  nproc: os.availableParallelism(),
  cpu: os.cpus()[0]?.model,
  totalMemGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  node: process.version,
};
const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
console.error(`zerolb bench: ${rounds} round${rounds > 1 ? "s" : ""}${quick ? ", quick" : ""}; ${machine.nproc} CPUs, node ${machine.node}; load ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);

const runs = [];
const loadavg = [];
for (let round = 1; round <= rounds; round++) {
  loadavg.push(os.loadavg()[0]);
  for (const w of workloads) {
    // Rotate the peers' order each round: A,B,C / B,C,A / C,A,B.
    const k = (round - 1) % Math.max(1, w.peers.length);
    const order = [...w.peers.slice(k), ...w.peers.slice(0, k)];
    for (const peer of order) {
      const r = await runOne(w, peer);
      runs.push({ workload: w.id, peer, round, ...r });
      console.error(`[round ${round}/${rounds}] ${w.id.padEnd(4)} ${peer.padEnd(8)} ${shortLine(w, peer, r)}${r.exitHang ? " (did not exit after close: killed)" : ""}${r.leftovers ? ` LEFT BEHIND: ${r.leftovers.join(", ")}` : ""}`);
    }
  }
}
loadavg.push(os.loadavg()[0]);

const results = {
  command,
  date: startedAt.toISOString(),
  durationS: Math.round((Date.now() - startedAt) / 1000),
  machine: { ...machine, loadavg1mPerRound: loadavg.map((x) => Math.round(x * 100) / 100) },
  zerolb,
  quick,
  rounds,
  summary: summarize(workloads, runs),
  runs,
};
writeFileSync(`${out}.tmp`, JSON.stringify(results, null, 2) + "\n");
renameSync(`${out}.tmp`, out);

console.log();
print(results);
console.log(`\n${command} · ${results.date} · ${machine.nproc} CPUs (${machine.cpu}) · node ${machine.node} · ${results.durationS} s · results in ${out}`);
if (runs.some((r) => !r.ok)) process.exitCode = 1;
