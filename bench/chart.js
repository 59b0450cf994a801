#!/usr/bin/env node
// An SVG chart of a results file: one panel per workload with a horizontal bar per peer for its
// main metric (the median; a thin line spans min…max when there were several rounds), zerolb
// highlighted, the workload's targets met or missed, and a footer with the date, command and
// machine. Hand-written SVG, no dependency; white background and system fonts, for GitHub.
//
//   node bench/chart.js bench/results.json [out.svg]     (default: results.json → results.svg)
//
// run.js writes it after every run, next to the JSON.
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { REFERENCES, fmt, targets } from "./report.js";

const WIDTH = 1000;
const MARGIN = 20;
const GAP = 20;
const COLS = 2;
const PANEL_W = (WIDTH - 2 * MARGIN - (COLS - 1) * GAP) / COLS;
const LABEL_W = 92; // peer names
const VALUE_W = 120; // the value after the bar
const ROW_H = 22;
const BAR_H = 14;
const FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif";
const COLOR = { zerolb: "#e8590c", peer: "#7f95ab", reference: "#c5ced8", text: "#1f2328", muted: "#59636e", met: "#1a7f37", missed: "#cf222e", rule: "#d0d7de" };

/** The SVG next to a results file: results.json → results.svg, anything else → +.svg. */
export function chartPath(jsonPath) {
  return jsonPath.endsWith(".json") ? `${jsonPath.slice(0, -5)}.svg` : `${jsonPath}.svg`;
}

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function text(x, y, s, { size = 12, weight, fill = COLOR.text, anchor, italic } = {}) {
  const attrs = [`x="${round(x)}"`, `y="${round(y)}"`, `font-size="${size}"`, `fill="${fill}"`];
  if (weight) attrs.push(`font-weight="${weight}"`);
  if (anchor) attrs.push(`text-anchor="${anchor}"`);
  if (italic) attrs.push(`font-style="italic"`);
  return `<text ${attrs.join(" ")}>${esc(s)}</text>`;
}

const round = (x) => Math.round(x * 10) / 10;

/** Splits `s` into lines of at most `max` characters at spaces (at most `lines` lines, the last cut with …). */
function wrap(s, max, lines = 2) {
  const out = [];
  let line = "";
  for (const word of String(s).split(" ")) {
    if (line && (line + " " + word).length > max) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  if (out.length > lines) {
    out.length = lines;
    out[lines - 1] = out[lines - 1].slice(0, max - 1) + "…";
  }
  return out;
}

function valueText(v, m) {
  if (!Number.isFinite(v)) return "—";
  const sign = m.unit === "%" && v > 0 ? "+" : "";
  return `${sign}${fmt(v, m.digits)}${m.unit === "%" ? " %" : ` ${m.unit}`}`;
}

/** One workload's panel: { height, body(x, y) → svg }. */
function panel(s) {
  // The workload's chart metric, else the first one that the most peers have a value for.
  const count = (d) => Object.keys(s.metrics[d.key] ?? {}).length;
  const m = s.metricDefs.find((d) => d.key === s.chart) ?? s.metricDefs.reduce((best, d) => (count(d) > count(best) ? d : best));
  const stats = s.metrics[m.key] ?? {};
  const rows = s.peers.map((peer) => ({ peer, stat: stats[peer], failed: s.failures.some((f) => f.peer === peer) && !stats[peer] }));
  const title = wrap(`${s.id} · ${s.title}`, 62);
  const unitText = m.unit === "%" ? "%" : m.unit;
  const subtitle = `${m.label} (${unitText}), ${m.better} is better${s.peers.length && rows.some((r) => r.stat?.n > 1) ? "; median, line = min…max" : ""}`;
  const goals = targets([s]);
  const skipped = (s.skipped ?? []).map((k) => `${k.peer} (${k.reason})`);
  const skippedLines = skipped.length ? wrap(`not run: ${skipped.join("; ")}`, 82, 2) : [];
  const height = 8 + title.length * 17 + 16 + 6 + rows.length * ROW_H + 4 + goals.length * 16 + skippedLines.length * 14 + 8;

  const body = (x0, y0) => {
    const parts = [`<rect x="${x0}" y="${y0}" width="${PANEL_W}" height="${height}" rx="6" fill="#ffffff" stroke="${COLOR.rule}"/>`];
    let y = y0 + 8;
    for (const line of title) parts.push(text(x0 + 12, (y += 17) - 4, line, { size: 14, weight: 600 }));
    parts.push(text(x0 + 12, (y += 16) - 3, subtitle, { size: 11.5, fill: COLOR.muted }));
    y += 6;

    // Scale: 0 always on the axis; negative values (an overhead below the ideal) extend left of it.
    // A reference far past every peer (5×: the in-process control's no-op throughput) would
    // flatten the peers' bars: the scale ends a little past the rest, and its bar is cut (jagged end).
    const spread = (r) => (r.stat ? [r.stat.median, r.stat.min, r.stat.max] : []);
    const values = rows.flatMap(spread);
    const peerValues = rows.filter((r) => !REFERENCES.includes(r.peer)).flatMap(spread);
    let lo = Math.min(0, ...values);
    let hi = Math.max(0, ...values);
    if (peerValues.length) {
      const [plo, phi] = [Math.min(0, ...peerValues), Math.max(0, ...peerValues)];
      const shown = values.filter((v) => v <= 5 * phi && v >= 5 * plo);
      if (phi > 0 && hi > 5 * phi) hi = Math.max(...shown) * 1.15;
      if (plo < 0 && lo < 5 * plo) lo = Math.min(...shown) * 1.15;
    }
    const span = hi - lo || 1;
    const barX = x0 + 12 + LABEL_W;
    const barW = PANEL_W - 24 - LABEL_W - VALUE_W;
    const sx = (v) => barX + ((Math.min(hi, Math.max(lo, v)) - lo) / span) * barW;
    const zero = sx(0);
    parts.push(`<line x1="${round(zero)}" y1="${y}" x2="${round(zero)}" y2="${y + rows.length * ROW_H}" stroke="${COLOR.rule}"/>`);
    for (const r of rows) {
      const isSubject = r.peer === "zerolb";
      const mid = y + ROW_H / 2;
      const name = REFERENCES.includes(r.peer) ? `${r.peer} (ref.)` : r.peer;
      parts.push(text(x0 + 12, mid + 4, name, { size: 12, weight: isSubject ? 700 : undefined, fill: isSubject ? COLOR.zerolb : COLOR.text }));
      if (r.stat) {
        const a = sx(Math.min(0, r.stat.median));
        const b = sx(Math.max(0, r.stat.median));
        const fill = isSubject ? COLOR.zerolb : REFERENCES.includes(r.peer) ? COLOR.reference : COLOR.peer;
        parts.push(`<rect x="${round(a)}" y="${round(mid - BAR_H / 2)}" width="${round(Math.max(1, b - a))}" height="${BAR_H}" rx="2" fill="${fill}"/>`);
        if (r.stat.median > hi) {
          // Cut: a white zig-zag across the bar's end.
          const t = mid - BAR_H / 2;
          parts.push(`<path d="M${round(b - 10)} ${round(t - 1)} l4 ${BAR_H / 4 + 0.5} l-4 ${BAR_H / 4} l4 ${BAR_H / 4} l-4 ${BAR_H / 4 + 0.5}" fill="none" stroke="#ffffff" stroke-width="2.5"/>`);
        }
        if (r.stat.n > 1 && r.stat.max > r.stat.min) {
          parts.push(`<line x1="${round(sx(r.stat.min))}" y1="${round(mid)}" x2="${round(sx(r.stat.max))}" y2="${round(mid)}" stroke="${COLOR.text}" stroke-width="1.2" opacity="0.6"/>`);
        }
        const at = Math.max(b, r.stat.n > 1 ? sx(r.stat.max) : b) + 6;
        parts.push(text(at, mid + 4, valueText(r.stat.median, m), { size: 12, weight: isSubject ? 700 : undefined }));
      } else {
        parts.push(text(zero + 6, mid + 4, r.failed ? "failed" : "no value", { size: 12, fill: COLOR.missed, italic: true }));
      }
      y += ROW_H;
    }
    y += 4;
    for (const g of goals) {
      const mark = g.met === true ? "✓" : "✗";
      const fill = g.met === true ? COLOR.met : COLOR.missed;
      const label = g.met === true ? "met" : g.met === false ? "MISSED" : "no value";
      parts.push(text(x0 + 12, (y += 16) - 4, `${mark} ${g.text.replace(/: (met|MISSED|n\/a)\)$/, `: ${label})`)}`, { size: 12, fill }));
    }
    for (const line of skippedLines) parts.push(text(x0 + 12, (y += 14) - 3, line, { size: 11, fill: COLOR.muted }));
    return parts.join("\n");
  };
  return { height, body };
}

/** The whole SVG document for a results object (as written by run.js). */
export function renderSvg(results) {
  const panels = results.summary.map(panel);
  const out = [];
  let y = MARGIN;
  const head = [];
  head.push(text(MARGIN, y + 18, "zerolb benchmark", { size: 20, weight: 700 }));
  const rounds = `${results.rounds} round${results.rounds > 1 ? "s" : ""}${results.quick ? ", quick sizes" : ""}`;
  head.push(text(MARGIN, y + 38, `Each panel: one workload's main metric per peer, ${results.rounds > 1 ? "medians of " : ""}${rounds}, all peers in the same run. zerolb in orange; control and ceiling are references.`, { size: 12, fill: COLOR.muted }));
  y += 54;
  for (let i = 0; i < panels.length; i += COLS) {
    const row = panels.slice(i, i + COLS);
    const h = Math.max(...row.map((p) => p.height));
    row.forEach((p, j) => out.push(p.body(MARGIN + j * (PANEL_W + GAP), y)));
    y += h + GAP;
  }
  // Footer: when, what, where.
  const m = results.machine ?? {};
  const z = results.zerolb ?? {};
  const load = m.loadavg1mPerRound ? ` · load (1 min) ${m.loadavg1mPerRound.join(", ")}` : "";
  const footer = [
    `${results.command} · ${String(results.date).replace("T", " ").replace(/\.\d+Z$/, " UTC")} · ${results.durationS} s${z.commit ? ` · zerolb ${z.commit}${z.libDirty ? " (lib/ modified)" : ""}` : ""}`,
    `${m.nproc} CPUs (${m.cpu}) · ${m.totalMemGiB} GiB · ${m.platform} · node ${m.node}${load}`,
  ];
  out.push(`<line x1="${MARGIN}" y1="${y - 6}" x2="${WIDTH - MARGIN}" y2="${y - 6}" stroke="${COLOR.rule}"/>`);
  for (const line of footer) out.push(text(MARGIN, (y += 16) - 2, line, { size: 11.5, fill: COLOR.muted }));
  const height = y + MARGIN - 6;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${esc(FONT)}">`,
    `<title>zerolb benchmark: ${esc(results.command)}, ${esc(results.date)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...head,
    ...out,
    "</svg>",
    "",
  ].join("\n");
}

export function writeChart(results, path) {
  writeFileSync(`${path}.tmp`, renderSvg(results));
  renameSync(`${path}.tmp`, path);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, outFile] = process.argv.slice(2);
  if (!file || file === "-h" || file === "--help") {
    console.log("Usage: node bench/chart.js bench/results.json [out.svg]   (default: the .json's name with .svg)");
    process.exit(file ? 0 : 1);
  }
  const path = outFile ?? chartPath(file);
  writeChart(JSON.parse(readFileSync(file, "utf8")), path);
  console.log(path);
}
