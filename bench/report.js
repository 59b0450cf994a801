// Medians, comparisons and the results table (plain text for the terminal, Markdown for README).

/** Peers that are references (a floor, a ceiling), not competing libraries: never "the best peer". */
export const REFERENCES = ["control", "ceiling"];
const SUBJECT = "zerolb";

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

const OPS = {
  ">=": (v, t) => v >= t,
  "<=": (v, t) => v <= t,
  ">": (v, t) => v > t,
  "<": (v, t) => v < t,
  "abs<=": (v, t) => Math.abs(v) <= t,
};

/** Evaluates one comparison { metric, kind: "ratio" | "diff" | "value", a, b?, target? } on the medians. */
export function evaluate(c, metrics) {
  const a = metrics[c.metric]?.[c.a]?.median;
  const b = c.kind === "value" ? 0 : metrics[c.metric]?.[c.b]?.median;
  let value = NaN;
  if (Number.isFinite(a) && Number.isFinite(b)) value = c.kind === "ratio" ? a / b : c.kind === "diff" ? a - b : a;
  if (c.target && !OPS[c.target.op]) throw new TypeError(`unknown target op ${c.target.op}`);
  const met = c.target && Number.isFinite(value) ? OPS[c.target.op](value, c.target.value) : undefined;
  return { ...c, value, met };
}

/**
 * zerolb against the best of the other peers (references excluded), per metric: a ratio, or a
 * difference in points for percentages. Skipped when a workload's own compare has the same pair.
 */
function bestPeerComparisons(w, metrics, explicit) {
  const out = [];
  for (const m of w.metricDefs) {
    const stats = metrics[m.key];
    if (!stats?.[SUBJECT]) continue;
    const others = Object.entries(stats).filter(([p, s]) => p !== SUBJECT && !REFERENCES.includes(p) && Number.isFinite(s.median));
    if (others.length === 0) continue;
    others.sort((x, y) => (m.better === "higher" ? y[1].median - x[1].median : x[1].median - y[1].median));
    const best = others[0][0];
    const kind = m.unit === "%" ? "diff" : "ratio";
    if (explicit.some((c) => c.metric === m.key && c.a === SUBJECT && c.b === best && c.kind === kind)) continue;
    out.push({ metric: m.key, kind, a: SUBJECT, b: best, best: true });
  }
  return out;
}

/**
 * From the raw runs, per workload: per metric and peer { median, min, max, n }, and the comparisons.
 * `workloads` = [{ id, title, resolvedParams, metricDefs, peers, peerParams?, skipped?, compare }],
 * `runs` = [{ workload, peer, round, ok, metrics }].
 */
export function summarize(workloads, runs) {
  return workloads.map((w) => {
    const metrics = {};
    for (const m of w.metricDefs) {
      metrics[m.key] = {};
      for (const peer of w.peers) {
        const values = runs.filter((r) => r.workload === w.id && r.peer === peer && r.ok).map((r) => r.metrics[m.key]).filter(Number.isFinite);
        if (values.length === 0) continue;
        metrics[m.key][peer] = { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length, values };
      }
    }
    // A comparison with a peer that did not run (--peers, skipped) is dropped, unless it has a target.
    const ran = (p) => w.peers.includes(p);
    const explicit = (w.compare ?? []).filter((c) => c.target || (ran(c.a) && (c.kind === "value" || ran(c.b))));
    const comparisons = [...explicit, ...bestPeerComparisons(w, metrics, explicit)].map((c) => evaluate(c, metrics));
    const failures = runs.filter((r) => r.workload === w.id && !r.ok).map((r) => ({ peer: r.peer, round: r.round, error: r.error }));
    return {
      id: w.id,
      title: w.title,
      params: w.resolvedParams,
      peerParams: w.peerParams ?? {},
      peers: w.peers,
      skipped: w.skipped ?? [],
      chart: w.chart,
      metricDefs: w.metricDefs,
      metrics,
      comparisons,
      failures,
    };
  });
}

export function fmt(x, digits = 0) {
  if (!Number.isFinite(x)) return "—";
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cell(stat, m) {
  if (!stat) return "—";
  const sign = m.unit === "%" && stat.median > 0 ? "+" : "";
  let text = sign + fmt(stat.median, m.digits);
  if (stat.n > 1 && stat.median !== 0) {
    const spread = ((stat.max - stat.min) / 2 / Math.abs(stat.median)) * 100;
    if (m.unit === "%") text += ` (${fmt(stat.min, m.digits)}…${fmt(stat.max, m.digits)})`;
    else text += ` ±${fmt(spread, 0)}%`;
  }
  return text;
}

const OP_TEXT = { ">=": "≥", "<=": "≤", ">": ">", "<": "<", "abs<=": "|x| ≤" };

/** "zerolb/piscina 10.08× (target ≥ 20×: MISSED)" and the like. `unit` is the metric's. */
export function comparisonText(c, unit = "") {
  const u = c.kind === "ratio" ? "×" : c.kind === "diff" ? " pt" : unit === "%" ? "%" : ` ${unit}`;
  const digits = c.kind === "value" && Math.abs(c.value) >= 100 ? 0 : 2;
  const sign = c.kind !== "ratio" && c.value > 0 && (c.kind === "diff" || unit === "%") ? "+" : "";
  const v = Number.isFinite(c.value) ? `${sign}${fmt(c.value, digits)}${u}` : "—";
  const name = c.kind === "ratio" ? `${c.a}/${c.b}` : c.kind === "diff" ? `${c.a}−${c.b}` : c.a;
  const label = c.label ? `${c.label} ` : c.best ? "vs best peer: " : "";
  const target = c.target ? ` (target ${OP_TEXT[c.target.op]} ${c.target.value}${u}: ${c.met === undefined ? "n/a" : c.met ? "met" : "MISSED"})` : "";
  return `${label}${name} ${v}${target}`;
}

/** Rows of [workload, metric, peer cells..., comparisons] over the union of peers. */
export function tableRows(summary) {
  // zerolb first, the references (ceiling, control) last, the peers between in order of appearance.
  const all = [...new Set(summary.flatMap((s) => s.peers))];
  const peers = [...all.filter((p) => !REFERENCES.includes(p)), ...REFERENCES.filter((p) => all.includes(p))];
  const header = ["workload", "metric", ...peers, "comparison"];
  const rows = [];
  for (const s of summary) {
    s.metricDefs.forEach((m, i) => {
      // One comparison per line: the first on the metric's row, the others on rows of their own.
      const comps = s.comparisons.filter((c) => c.metric === m.key).map((c) => comparisonText(c, m.unit));
      rows.push([i === 0 ? s.id : "", `${m.label} (${m.unit})`, ...peers.map((p) => (s.peers.includes(p) ? cell(s.metrics[m.key][p], m) : "")), comps[0] ?? ""]);
      for (const c of comps.slice(1)) rows.push(["", "", ...peers.map(() => ""), c]);
    });
    for (const f of s.failures) rows.push(["", `FAILED: ${f.peer} round ${f.round}`, ...peers.map(() => ""), String(f.error).split("\n")[0]]);
  }
  return { header, rows };
}

/** Lines under the table: each workload's title, peers run with their own sizes, peers skipped. */
export function notes(summary) {
  const lines = [];
  for (const s of summary) {
    const own = Object.entries(s.peerParams ?? {})
      .filter(([peer]) => s.peers.includes(peer))
      .map(([peer, o]) => `${peer} ${Object.entries(o).map(([k, v]) => `${k} ${typeof v === "number" ? v.toLocaleString("en-US") : v}`).join(", ")}`);
    const skipped = (s.skipped ?? []).map((k) => `${k.peer} (${k.reason})`);
    lines.push(`${s.id}: ${s.title}.${own.length ? ` Own sizes: ${own.join("; ")}.` : ""}${skipped.length ? ` Not run: ${skipped.join("; ")}.` : ""}`);
  }
  return lines;
}

/** Every comparison that has a target, met or not: [{ id, text, met }]. */
export function targets(summary) {
  const out = [];
  for (const s of summary) {
    for (const c of s.comparisons) {
      if (!c.target) continue;
      const unit = s.metricDefs.find((m) => m.key === c.metric)?.unit;
      out.push({ id: s.id, text: comparisonText(c, unit), met: c.met });
    }
  }
  return out;
}

export function textTable({ header, rows }) {
  const all = [header, ...rows];
  const width = header.map((_, i) => Math.max(...all.map((r) => [...r[i]].length)));
  const line = (r) => r.map((c, i) => (i >= 2 && i < r.length - 1 ? c.padStart(width[i]) : c.padEnd(width[i]))).join("  ").trimEnd();
  return [line(header), width.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function markdownTable({ header, rows }) {
  const esc = (c) => c.replace(/\|/g, "\\|") || " ";
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map((_, i) => (i >= 2 && i < header.length - 1 ? "---:" : "---")).join(" | ")} |`,
    ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ].join("\n");
}
