// A small parser of the Prometheus text format (HELP, TYPE, samples with labels), and a check of
// parsed text against stats(): for test/metrics.test.js and the CLI's /metrics endpoint test.
/** Parses Prometheus text: { metrics: Map(name -> { help, type, samples: [{ labels, value }] }) }. */
export function parsePrometheus(t, text) {
  const metrics = new Map();
  const get = (name) => {
    if (!metrics.has(name)) metrics.set(name, { help: undefined, type: undefined, samples: [] });
    return metrics.get(name);
  };
  t.ok(text.endsWith("\n"), "the text ends with a line feed");
  for (const line of text.slice(0, -1).split("\n")) {
    let m;
    if ((m = /^# HELP (\w+) (.*)$/.exec(line))) {
      get(m[1]).help = m[2];
    } else if ((m = /^# TYPE (\w+) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      t.equal(get(m[1]).samples.length, 0, `TYPE of ${m[1]} comes before its samples`);
      get(m[1]).type = m[2];
    } else if ((m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line))) {
      const labels = {};
      if (m[2]) {
        const re = /(\w+)="((?:[^"\\]|\\.)*)"(?:,|$)/g;
        let l;
        let consumed = 0;
        while ((l = re.exec(m[2]))) {
          labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
          consumed = re.lastIndex;
        }
        if (consumed !== m[2].length) throw new Error(`bad labels: ${line}`);
      }
      const metric = metrics.get(m[1]);
      if (!metric?.type) throw new Error(`sample before its TYPE line: ${line}`);
      metric.samples.push({ labels, value: Number(m[3]) });
    } else {
      throw new Error(`not a line of the format: ${JSON.stringify(line)}`);
    }
  }
  return metrics;
}

const POOL = {
  zerolb_tasks_submitted_total: ["counter", "submitted"],
  zerolb_tasks_done_total: ["counter", "done"],
  zerolb_tasks_failed_total: ["counter", "failed"],
  zerolb_tasks_retried_total: ["counter", "retried"],
  zerolb_tasks_timed_out_total: ["counter", "timedOut"],
  zerolb_tasks_cancelled_total: ["counter", "cancelled"],
  zerolb_duplicates_dropped_total: ["counter", "duplicatesDropped"],
  zerolb_malformed_dropped_total: ["counter", "malformedDropped"],
  zerolb_worker_restarts_total: ["counter", "workerRestarts"],
  zerolb_broker_restarts_total: ["counter", "brokerRestarts"],
  zerolb_refused_handshakes_total: ["counter", "refusedHandshakes"],
  zerolb_tasks_queued: ["gauge", "queued"],
  zerolb_tasks_waiting: ["gauge", "waiting"],
  zerolb_pipeline_items: ["gauge", "pipelineItems"],
  zerolb_tasks_in_flight: ["gauge", "inFlight"],
};

/** Asserts that `text` says what `stats` says. */
export function matchStats(t, text, stats) {
  const metrics = parsePrometheus(t, text);
  for (const [name, [type, field]] of Object.entries(POOL)) {
    const metric = metrics.get(name);
    t.ok(metric, `${name} is there`);
    t.equal(metric.type, type, `${name} is a ${type}`);
    t.ok(metric.help, `${name} has a HELP line`);
    t.same(metric.samples, [{ labels: {}, value: stats[field] }], `${name} = stats().${field} (${stats[field]})`);
  }
  for (const [name, type, field] of [["zerolb_worker_tasks_done_total", "counter", "done"], ["zerolb_worker_tasks_in_flight", "gauge", "inFlight"]]) {
    const metric = metrics.get(name);
    t.equal(metric.type, type, `${name} is a ${type}`);
    const expected = stats.workers.map((w) => ({
      labels: { index: String(w.index), id: w.id, pid: String(w.pid), local: String(w.local), ...(w.name === undefined ? {} : { name: w.name }) },
      value: w[field],
    }));
    t.same(metric.samples, expected, `${name}: one series per worker of stats().workers, labelled`);
  }
  t.equal(metrics.size, Object.keys(POOL).length + 2, "no other metric");
  return metrics;
}

