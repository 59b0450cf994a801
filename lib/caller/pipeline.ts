// Pipeline: a DAG of named jobs that every item of a map runs through (after pypelinin).
// Checked when built; runs in the broker, which hands each job its parents' results without
// returning them to the caller or decoding them.
import { describe, fail, knownNames, nearestName, stringArray, type OptionBag } from "../shared/validate.js";
import type { PipelineWire } from "../wire/protocol.js";

/** The names a job takes. */
const JOB_OPTIONS: readonly string[] = ["fn", "after"];
const JOB_HINTS: Record<string, string> = {
  dependsOn: "after", depends: "after", deps: "after", needs: "after", requires: "after", parents: "after",
  handler: "fn", function: "fn", name: "fn",
};

/**
 * One job of a pipeline.
 *
 * @typeParam Name - the names of the pipeline's jobs (what `after` may list).
 * @typeParam Fn - the names of the handler module's functions (what `fn` may be).
 */
export interface JobSpec<Name extends string = string, Fn extends string = string> {
  /** Exported handler function to run; the job's name when absent. */
  readonly fn?: Fn;
  /** Jobs whose results this job takes as input. */
  readonly after?: readonly Name[];
}

/**
 * The jobs given to `new Pipeline`: an object of {@link JobSpec}s whose `after` lists only names
 * of its own jobs.
 *
 * @typeParam Jobs - the object itself, as written.
 */
export type PipelineJobs<Jobs> = { readonly [K in keyof Jobs]: JobSpec<keyof Jobs & string> };

/** A job after checking: its function and the names it depends on. */
export interface Job {
  /** The job's name (a key of the object given to `new Pipeline`). */
  readonly name: string;
  /** The exported handler function it runs. */
  readonly fn: string;
  /** Jobs it takes its input from. */
  readonly after: readonly string[];
}

/** The key of Pipeline's compile-time record of its jobs: declared, never defined. */
declare const jobTypes: unique symbol;

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
export class Pipeline<const Jobs extends PipelineJobs<Jobs> = Record<string, JobSpec>> {
  /**
   * The jobs as written, for the compiler only: it reads job names, `fn`s and `after`s from here
   * to type what a map with this pipeline takes and yields. No such property exists at run time,
   * and its key is not exported, so no code can reach for it.
   * @internal
   */
  declare readonly [jobTypes]?: Jobs;
  /** Jobs in topological order (every job after the jobs it depends on). */
  readonly jobs: readonly Job[];
  /** Names of the jobs no other job depends on: their results are what the map yields. */
  readonly sinks: readonly string[];

  /**
   * @throws InvalidOptionError (a TypeError, code ERR_ZEROLB_INVALID_OPTION) naming the problem: an
   * empty graph, an unknown job or option name (with the nearest valid one), a cycle, a bad spec.
   */
  constructor(jobs: Jobs) {
    if (typeof jobs !== "object" || jobs === null || Array.isArray(jobs)) fail("Pipeline needs an object of jobs: { name: { fn?, after? } }");
    const names = Object.keys(jobs);
    if (names.length === 0) fail("Pipeline has no jobs");
    const specs = new Map<string, Job>();
    for (const name of names) {
      const spec = (jobs as Record<string, unknown>)[name]; // checked below: plain JavaScript may pass anything
      const where = `Pipeline job "${name}": `;
      if (typeof spec !== "object" || spec === null || Array.isArray(spec)) fail(`Pipeline job "${name}" must be an object { fn?, after? }; received ${describe(spec)}`);
      const options = spec as unknown as OptionBag;
      // A misspelled `after` would silently make the job a root that gets the item.
      knownNames(where, options, JOB_OPTIONS, JOB_HINTS);
      const fn = options.fn === undefined ? name : options.fn;
      if (typeof fn !== "string" || fn === "") fail(`${where}fn must be a non-empty string; received ${describe(fn)}`);
      const after = stringArray(where, options, "after", "job names") ?? [];
      for (const dep of after) {
        if (!Object.hasOwn(jobs, dep)) {
          const near = nearestName(dep, names);
          fail(`Pipeline job "${name}" is after unknown job "${dep}"${near ? ` (did you mean "${near}"?)` : ""}`);
        }
        if (dep === name) fail(`Pipeline has a cycle: ${name} -> ${name}`);
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
      fail(`Pipeline has a cycle: ${cycle.join(" -> ")}`);
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
