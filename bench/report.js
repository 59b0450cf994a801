// Medians, comparisons and the results table (plain text for the terminal, Markdown for README).

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * From the raw runs, per workload: per metric and peer { median, min, max, n }, and the comparisons.
 * `runs` = [{ workload, peer, round, ok, metrics }].
 */
export function summarize(workloads, runs) {
  return workloads.map((w) => {
    const metrics = {};
    for (const m of w.metrics) {
      metrics[m.key] = {};
      for (const peer of w.peers) {
        const values = runs.filter((r) => r.workload === w.id && r.peer === peer && r.ok).map((r) => r.metrics[m.key]).filter(Number.isFinite);
        if (values.length === 0) continue;
        metrics[m.key][peer] = { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length, values };
      }
    }
    const comparisons = (w.compare ?? []).map((c) => {
      const a = metrics[c.metric]?.[c.a]?.median;
      const b = metrics[c.metric]?.[c.b]?.median;
      const value = a === undefined || b === undefined ? NaN : c.kind === "ratio" ? a / b : a - b;
      const met = c.target && Number.isFinite(value) ? (c.target.op === ">=" ? value >= c.target.value : value <= c.target.value) : undefined;
      return { ...c, value, met };
    });
    const failures = runs.filter((r) => r.workload === w.id && !r.ok).map((r) => ({ peer: r.peer, round: r.round, error: r.error }));
    return { id: w.id, title: w.title, params: w.resolvedParams, peers: w.peers, metricDefs: w.metrics, metrics, comparisons, failures };
  });
}

function fmt(x, digits = 0) {
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

function comparisonText(c) {
  const v = c.kind === "ratio" ? `${fmt(c.value, 2)}×` : `${c.value > 0 ? "+" : ""}${fmt(c.value, 2)} pt`;
  const name = c.kind === "ratio" ? `${c.a}/${c.b}` : `${c.a}−${c.b}`;
  const target = c.target ? ` (target ${c.target.op} ${c.target.value}${c.kind === "ratio" ? "×" : " pt"}: ${c.met ? "met" : "MISSED"})` : "";
  return `${name} ${v}${target}`;
}

/** Rows of [workload, metric, peer cells..., comparisons] over the union of peers. */
export function tableRows(summary) {
  const peers = [...new Set(summary.flatMap((s) => s.peers))];
  const header = ["workload", "metric", ...peers, "comparison"];
  const rows = [];
  for (const s of summary) {
    s.metricDefs.forEach((m, i) => {
      const comps = s.comparisons.filter((c) => c.metric === m.key).map(comparisonText);
      rows.push([i === 0 ? s.id : "", `${m.label} (${m.unit})`, ...peers.map((p) => cell(s.metrics[m.key][p], m)), comps.join("; ")]);
    });
    for (const f of s.failures) rows.push(["", `FAILED: ${f.peer} round ${f.round}`, ...peers.map(() => ""), String(f.error).split("\n")[0]]);
  }
  return { header, rows };
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
