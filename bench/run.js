#!/usr/bin/env node
// zerolb benchmark: every workload × peer in a fresh child process, several rounds with the peers
// interleaved (and their order rotated each round), then medians, ratios, a table, results.json
// and an SVG chart of it (results.svg).
//
//   node bench/run.js [--quick] [--rounds N] [--only S,W1,...] [--peers zerolb,piscina,...]
//                     [--out FILE] [--markdown]
//   node bench/run.js --report bench/results.json [--markdown]     (re-print a saved run)
//   node bench/chart.js bench/results.json                         (re-render its chart)
import { fork, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { chartPath, writeChart } from "./chart.js";
import { markdownTable, notes, summarize, tableRows, targets, textTable } from "./report.js";
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

  --quick            1 round, smaller sizes (under 2 minutes on 2 CPUs)
  --rounds N         rounds (default 3; 1 with --quick)
  --only IDS         comma-separated workload ids:
${WORKLOADS.map((w) => `                       ${w.id.padEnd(4)} ${typeof w.title === "function" ? w.title(w.params({ quick: false })) : w.title}`).join("\n")}
  --peers NAMES      comma-separated peers (default: each workload's own list): zerolb,
                     ${[...new Set(WORKLOADS.flatMap((w) => w.peers))].filter((p) => p !== "zerolb").join(", ")}
  --out FILE         where to write the JSON results (default bench/results.json,
                     bench/results-quick.json with --quick); the chart goes next to it
                     (FILE with .svg for .json: bench/results.svg, bench/results-quick.svg)
  --markdown         print the table as Markdown
  --report FILE      print the table of a saved results file and exit

A peer is skipped with a note (not a failure) when bench/peers/NAME.js does not exist, when it
exports \`unavailable\` (python without python3), or when its \`supports\` list lacks the workload's
handler (ceiling: noop.js only). Peers may run with their own sizes (a workload's peerParams);
the notes under the table list them. The exit code is 1 when a run failed or a peer did not load.

Environment: ZEROLB_DIST=/path/to/dist benchmarks another build of zerolb.
Re-render a chart: node bench/chart.js bench/results.json [out.svg]`);
  process.exit(0);
}

function print(results) {
  const rows = tableRows(results.summary);
  console.log(args.markdown ? markdownTable(rows) : textTable(rows));
  console.log();
  for (const line of notes(results.summary)) console.log(args.markdown ? `- ${line}` : line);
  const t = targets(results.summary);
  if (t.length) {
    const missed = t.filter((x) => x.met !== true);
    console.log(`\ntargets: ${t.length - missed.length} of ${t.length} met${missed.length ? `; not met: ${missed.map((x) => `${x.id} ${x.text}`).join("; ")}` : ""}`);
  }
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

// The peers' modules, loaded here once for their `unavailable` and `supports` exports (after the
// snapshot above: the zerolb peer reads ZEROLB_DIST when it loads).
const peerModules = new Map(); // name → { supports?, version? } | { reason, error? }
async function loadPeer(name) {
  if (peerModules.has(name)) return peerModules.get(name);
  const file = here(`./peers/${name}.js`);
  let info;
  if (!existsSync(file)) info = { reason: `no bench/peers/${name}.js` };
  else {
    try {
      const mod = await import(pathToFileURL(file).href);
      if (mod.unavailable) info = { reason: String(mod.unavailable) };
      else info = { supports: mod.supports, version: mod.version };
    } catch (err) {
      info = { reason: `failed to load: ${String(err?.message ?? err).split("\n")[0]}`, error: true };
    }
  }
  peerModules.set(name, info);
  return info;
}

const sizes = (x) => (typeof x === "function" ? x({ quick }) : (x ?? {}));
const workloads = [];
for (const w of WORKLOADS) {
  if (only && !only.includes(w.id)) continue;
  const resolvedParams = w.params({ quick });
  const overrides = sizes(w.peerParams);
  const peers = [];
  const skipped = [];
  for (const peer of w.peers) {
    if (peerFilter && !peerFilter.includes(peer)) continue;
    const info = await loadPeer(peer);
    const handler = overrides[peer]?.handler ?? resolvedParams.handler;
    if (info.reason) skipped.push({ peer, reason: info.reason, ...(info.error ? { error: true } : {}) });
    else if (Array.isArray(info.supports) && !info.supports.includes(handler)) skipped.push({ peer, reason: `supports ${info.supports.join(", ")} only` });
    else peers.push(peer);
  }
  workloads.push({
    ...w,
    title: typeof w.title === "function" ? w.title(resolvedParams) : w.title,
    peers,
    skipped,
    resolvedParams,
    peerParams: overrides,
    metricDefs: typeof w.metrics === "function" ? w.metrics(resolvedParams) : w.metrics,
  });
}
/** The sizes one peer runs a workload with: the workload's, then the peer's own overrides. */
const paramsFor = (w, peer) => ({ ...w.resolvedParams, ...w.peerParams[peer] });

// One note per peer not run, with the workloads it would have run.
{
  const byPeer = new Map();
  for (const w of workloads) for (const k of w.skipped) byPeer.set(`${k.peer}\0${k.reason}`, [...(byPeer.get(`${k.peer}\0${k.reason}`) ?? []), w.id]);
  for (const [key, ids] of byPeer) {
    const [peer, reason] = key.split("\0");
    console.error(`${peerModules.get(peer)?.error ? "ERROR" : "note"}: ${peer} not run on ${ids.join(", ")}: ${reason}`);
  }
}

let current; // the child running now, killed on Ctrl-C
process.on("SIGINT", () => {
  current?.kill("SIGTERM");
  process.exit(130);
});

/** Runs one workload × peer in a fresh process; resolves to its report (never rejects). */
function runOne(w, peer) {
  const params = paramsFor(w, peer);
  const spec = { workload: w.id, peer, params };
  const timeoutMs = w.timeoutMs?.(params) ?? 300_000;
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
      // An error quoting a huge value (a result, a sum) must not flood the table and results.json.
      if (typeof m.error === "string" && m.error.length > 4000) m.error = `${m.error.slice(0, 4000)}… (${m.error.length} chars)`;
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
    info.commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: here("."), encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
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
  const main = w.metricDefs.find((m) => Number.isFinite(r.metrics[m.key])) ?? w.metricDefs[0];
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

const skippedPeers = Object.fromEntries([...peerModules].filter(([, i]) => i.reason).map(([name, i]) => [name, i.reason]));
const results = {
  command,
  date: startedAt.toISOString(),
  durationS: Math.round((Date.now() - startedAt) / 1000),
  machine: { ...machine, loadavg1mPerRound: loadavg.map((x) => Math.round(x * 100) / 100) },
  zerolb,
  quick,
  rounds,
  peerVersions: Object.fromEntries([...peerModules].filter(([, i]) => !i.reason).map(([name, i]) => [name, i.version])),
  skippedPeers,
  summary: summarize(workloads, runs),
  runs,
};
writeFileSync(`${out}.tmp`, JSON.stringify(results, null, 2) + "\n");
renameSync(`${out}.tmp`, out);
const svg = chartPath(out);
writeChart(results, svg);

console.log();
print(results);
console.log(`\n${command} · ${results.date} · ${machine.nproc} CPUs (${machine.cpu}) · node ${machine.node} · ${results.durationS} s · results in ${out}, chart in ${svg}`);
if (runs.some((r) => !r.ok) || [...peerModules.values()].some((i) => i.error)) process.exitCode = 1;
