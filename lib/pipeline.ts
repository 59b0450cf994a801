// Pipeline: a DAG of named jobs that every item of a map runs through (after pypelinin).
// Checked when built; runs in the broker, which hands each job its parents' results without
// returning them to the caller or decoding them.

/** One job of a pipeline. */
export interface JobSpec {
  /** Exported handler function to run; the job's name when absent. */
  fn?: string;
  /** Jobs whose results this job takes as input. */
  after?: string[];
}

/** A job after checking: its function and the names it depends on. */
export interface Job {
  /** The job's name (a key of the object given to `new Pipeline`). */
  readonly name: string;
  /** The exported handler function it runs. */
  readonly fn: string;
  /** Jobs it takes its input from. */
  readonly after: readonly string[];
}

/** How a pipeline travels to the broker: jobs in topological order, dependencies as indices. */
export interface PipelineWire {
  jobs: { n: string; f: string; a: number[] }[];
}

/**
 * A DAG of jobs run per item by `lb.map(items, { pipeline })`. A job with no `after` gets the item;
 * a job with one `after` gets that job's result; a job with several gets an object keyed by job
 * name. The map yields, per item, an object of the results of the sinks (jobs nothing depends on).
 *
 * @example
 * ```ts
 * const pipeline = new Pipeline({
 *   fetch: {},
 *   text: { after: ["fetch"] },
 *   links: { fn: "extractLinks", after: ["fetch"] },
 *   store: { after: ["text", "links"] },
 * });
 * for await (const { store } of lb.map(urls, { pipeline })) console.log(store);
 * ```
 */
export class Pipeline {
  /** Jobs in topological order (every job after the jobs it depends on). */
  readonly jobs: readonly Job[];
  /** Names of the jobs no other job depends on: their results are what the map yields. */
  readonly sinks: readonly string[];

  /** @throws TypeError naming the problem: an empty graph, an unknown name, a cycle, a bad spec. */
  constructor(jobs: Record<string, JobSpec>) {
    if (typeof jobs !== "object" || jobs === null || Array.isArray(jobs)) throw new TypeError("Pipeline needs an object of jobs: { name: { fn?, after? } }");
    const names = Object.keys(jobs);
    if (names.length === 0) throw new TypeError("Pipeline has no jobs");
    const specs = new Map<string, Job>();
    for (const name of names) {
      const spec = jobs[name];
      if (typeof spec !== "object" || spec === null) throw new TypeError(`Pipeline job "${name}" must be an object { fn?, after? }`);
      const { fn = name, after = [] } = spec;
      if (typeof fn !== "string" || fn === "") throw new TypeError(`Pipeline job "${name}": fn must be a non-empty string`);
      if (!Array.isArray(after) || after.some((a) => typeof a !== "string")) throw new TypeError(`Pipeline job "${name}": after must be an array of job names`);
      for (const dep of after) {
        if (!(dep in jobs)) throw new TypeError(`Pipeline job "${name}" is after unknown job "${dep}"`);
        if (dep === name) throw new TypeError(`Pipeline has a cycle: ${name} -> ${name}`);
      }
      specs.set(name, { name, fn, after: [...new Set(after)] });
    }
    this.jobs = topologicalOrder(specs);
    const needed = new Set(this.jobs.flatMap((j) => j.after));
    this.sinks = this.jobs.filter((j) => !needed.has(j.name)).map((j) => j.name);
  }

  /** Graphviz DOT text: a node per job (labelled with its function when that differs), an edge per dependency. */
  toDot(name = "pipeline"): string {
    const lines = [`digraph ${quote(name)} {`, "  rankdir=LR;", "  node [shape=box];"];
    for (const job of this.jobs) {
      const label = job.fn === job.name ? job.name : `${job.name}\\n(${job.fn})`;
      lines.push(`  ${quote(job.name)} [label=${quote(label, false)}];`);
    }
    for (const job of this.jobs) for (const dep of job.after) lines.push(`  ${quote(dep)} -> ${quote(job.name)};`);
    lines.push("}");
    return `${lines.join("\n")}\n`;
  }

  /** @internal The broker's view. */
  toWire(): PipelineWire {
    const index = new Map(this.jobs.map((j, i) => [j.name, i]));
    return { jobs: this.jobs.map((j) => ({ n: j.name, f: j.fn, a: j.after.map((d) => index.get(d)!) })) };
  }
}

function topologicalOrder(specs: Map<string, Job>): Job[] {
  const order: Job[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, path: string[]) => {
    const s = state.get(name);
    if (s === "done") return;
    if (s === "visiting") {
      const cycle = [...path.slice(path.indexOf(name)), name];
      throw new TypeError(`Pipeline has a cycle: ${cycle.join(" -> ")}`);
    }
    state.set(name, "visiting");
    for (const dep of specs.get(name)!.after) visit(dep, [...path, name]);
    state.set(name, "done");
    order.push(specs.get(name)!);
  };
  for (const name of specs.keys()) visit(name, []);
  return order;
}

function quote(text: string, escapeNewlines = true): string {
  const escaped = text.replace(/\\/g, escapeNewlines ? "\\\\" : "\\").replace(/"/g, '\\"');
  return `"${escaped}"`;
}
