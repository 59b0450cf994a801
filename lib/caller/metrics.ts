// lb.metrics(): the counts of stats() in the Prometheus text exposition format (version 0.0.4),
// the format Prometheus, VictoriaMetrics, Grafana Agent and OpenTelemetry collectors scrape.
// Written here rather than with prom-client: that library keeps a process-wide registry and
// collects by its own timers, and the format of a dozen counters and gauges is a few lines.
import type { WorkerInfo } from "../wire/stats.js";
import type { Stats } from "./stats.js";

/** The content type of the text this module writes, for an HTTP endpoint serving it. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Kind = "counter" | "gauge";

/** One pool-wide metric: its name (after `zerolb_`), type, help and where stats() has it. */
const POOL: readonly [name: string, type: Kind, help: string, value: (s: Stats) => number][] = [
  ["tasks_submitted_total", "counter", "Tasks submitted since start.", (s) => s.submitted],
  ["tasks_done_total", "counter", "Tasks that succeeded.", (s) => s.done],
  ["tasks_failed_total", "counter", "Tasks that failed (any reason, timeouts and cancellations included).", (s) => s.failed],
  ["tasks_retried_total", "counter", "Runs of tasks repeated because their worker died.", (s) => s.retried],
  ["tasks_timed_out_total", "counter", "Tasks that failed with a TimeoutError.", (s) => s.timedOut],
  ["tasks_cancelled_total", "counter", "Tasks withdrawn (abort, break, close).", (s) => s.cancelled],
  ["duplicates_dropped_total", "counter", "Results that arrived twice and were dropped.", (s) => s.duplicatesDropped],
  ["malformed_dropped_total", "counter", "Malformed or unexpected messages dropped.", (s) => s.malformedDropped],
  ["worker_restarts_total", "counter", "Local worker processes restarted after dying.", (s) => s.workerRestarts],
  ["broker_restarts_total", "counter", "Broker processes restarted after dying or hanging.", (s) => s.brokerRestarts],
  ["refused_handshakes_total", "counter", "Remote connections refused at the handshake.", (s) => s.refusedHandshakes],
  ["tasks_queued", "gauge", "Tasks waiting at the broker for a worker.", (s) => s.queued],
  ["tasks_waiting", "gauge", "Tasks waiting for the tasks named in their after.", (s) => s.waiting],
  ["pipeline_items", "gauge", "Pipeline items with jobs still to run.", (s) => s.pipelineItems],
  ["tasks_in_flight", "gauge", "Tasks dispatched to a worker and not finished.", (s) => s.inFlight],
];

/** Per-worker metrics, one series per worker of stats().workers. */
const PER_WORKER: readonly [name: string, type: Kind, help: string, value: (w: WorkerInfo) => number][] = [
  ["worker_tasks_done_total", "counter", "Tasks each worker finished.", (w) => w.done],
  ["worker_tasks_in_flight", "gauge", "Tasks each worker holds now.", (w) => w.inFlight],
];

/** `stats` as Prometheus text: HELP and TYPE lines, then the samples, every name prefixed `zerolb_`. */
export function prometheusText(stats: Stats): string {
  let text = "";
  for (const [name, type, help, value] of POOL) {
    text += `# HELP zerolb_${name} ${help}\n# TYPE zerolb_${name} ${type}\nzerolb_${name} ${value(stats)}\n`;
  }
  for (const [name, type, help, value] of PER_WORKER) {
    text += `# HELP zerolb_${name} ${help}\n# TYPE zerolb_${name} ${type}\n`;
    for (const w of stats.workers) text += `zerolb_${name}{${workerLabels(w)}} ${value(w)}\n`;
  }
  return text;
}

function workerLabels(w: WorkerInfo): string {
  const labels = [`index="${w.index}"`, `id="${escapeLabel(w.id)}"`, `pid="${w.pid}"`, `local="${w.local}"`];
  if (w.name !== undefined) labels.push(`name="${escapeLabel(w.name)}"`);
  return labels.join(",");
}

/** A label value as the format requires: backslash, double quote and line feed escaped. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
