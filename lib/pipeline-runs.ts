// The broker's side of pipelines: each item becomes one task per job, linked by dependencies in
// the scheduler. A job's input is built from its parents' results as opaque MessagePack (one
// parent: its bytes as they are; several: a map keyed by job name around their bytes), so the
// broker never decodes a value. A parent's result is dropped once every job that reads it has
// been given its input, so memory stays bounded on endless input.
import { encodeValue } from "./codec.js";
import { ProtocolError } from "./errors.js";
import type { PipelineWire } from "./pipeline.js";
import { Status } from "./protocol.js";
import { JOB_SEQ_BASE, newTask, type Task } from "./scheduler.js";

interface JobDef {
  name: string;
  fn: string;
  parents: number[];
  children: number;
  sink: boolean;
  /** The job name as an encoded MessagePack string: a map key. */
  key: Uint8Array;
}

interface PipelineDef {
  jobs: JobDef[];
  sinks: number[];
  /** Per job, how many jobs read its result (each item starts from a copy). */
  readers: number[];
}

class ItemRun {
  readonly results: (Uint8Array | undefined)[];
  /** Per job: children not yet given their input. */
  readonly readers: number[];
  readonly jobSeqs: number[] = [];
  unfinished: number;
  /** Its outcome went to the caller (or it was withdrawn): later job outcomes are ignored. */
  settled = false;

  constructor(
    readonly seq: number,
    readonly def: PipelineDef,
  ) {
    this.results = new Array(def.jobs.length);
    this.readers = def.readers.slice();
    this.unfinished = def.jobs.length;
  }
}

/** What to send the caller about an item, when a job's outcome settles it. */
export interface ItemOutcome {
  seq: number;
  status: number;
  bytes: Uint8Array;
  /** Jobs of a failed item still pending: withdraw them. */
  withdraw: number[];
}

export class PipelineRuns {
  readonly #defs = new Map<number, PipelineDef>();
  readonly #items = new Map<number, ItemRun>();
  #nextJobSeq = JOB_SEQ_BASE;

  /** Items in progress. */
  get active(): number {
    return this.#items.size;
  }

  define(id: number, wire: PipelineWire): void {
    if (!Array.isArray(wire?.jobs) || wire.jobs.length === 0) throw new ProtocolError("pipeline has no jobs");
    const jobs: JobDef[] = wire.jobs.map((j, i) => {
      if (typeof j?.n !== "string" || typeof j.f !== "string" || !Array.isArray(j.a)) throw new ProtocolError("pipeline job is malformed");
      for (const p of j.a) if (!Number.isInteger(p) || p < 0 || p >= i) throw new ProtocolError("pipeline jobs are not in topological order");
      return { name: j.n, fn: j.f, parents: j.a, children: 0, sink: false, key: encodeValue(j.n) };
    });
    for (const job of jobs) for (const p of job.parents) jobs[p]!.children++;
    for (const job of jobs) job.sink = job.children === 0;
    this.#defs.set(id, { jobs, sinks: jobs.flatMap((j, i) => (j.sink ? [i] : [])), readers: jobs.map((j) => j.children) });
  }

  has(id: number): boolean {
    return this.#defs.has(id);
  }

  isJob(seq: number): boolean {
    return seq >= JOB_SEQ_BASE;
  }

  /** Turns an item into its job tasks and hands each to `submit` with the seqs it must wait for. */
  start(seq: number, pipelineId: number, payload: Uint8Array, timeout: number, id: string, submit: (task: Task, after?: number[]) => void): void {
    const def = this.#defs.get(pipelineId);
    if (!def) throw new ProtocolError(`unknown pipeline ${pipelineId}`);
    const item = new ItemRun(seq, def);
    this.#items.set(seq, item);
    const jobs = def.jobs;
    for (let j = 0; j < jobs.length; j++) item.jobSeqs.push(this.#nextJobSeq++);
    for (let j = 0; j < jobs.length; j++) {
      const job = jobs[j]!;
      const roots = job.parents.length === 0;
      const task = newTask(item.jobSeqs[j]!, `${id || seq}:${job.name}`, job.fn, timeout, 0, roots ? payload : EMPTY);
      task.item = item;
      task.job = j;
      if (roots) submit(task);
      else {
        task.compose = true;
        submit(task, job.parents.map((p) => item.jobSeqs[p]!));
      }
    }
  }

  /**
   * A job's outcome. Returns the item's outcome when this settles it: all jobs done (a map of the
   * sinks' results), or the first failure (the item fails; its pending jobs are to be withdrawn).
   */
  jobFinished(task: Task, status: number, bytes: Uint8Array): ItemOutcome | undefined {
    const item = task.item as ItemRun | undefined;
    if (!item || item.settled) return undefined;
    const job = task.job;
    const def = item.def.jobs[job]!;
    if (status !== Status.Ok) {
      this.#forget(item);
      const failure = concat([mapHeader(2), JOB_KEY, def.key, ERROR_KEY, bytes]);
      return { seq: item.seq, status, bytes: failure, withdraw: item.jobSeqs.filter((s) => s !== task.seq) };
    }
    if (def.children > 0 || def.sink) item.results[job] = bytes;
    if (--item.unfinished > 0) return undefined;
    this.#forget(item);
    return { seq: item.seq, status: Status.Ok, bytes: this.#keyed(item, item.def.sinks), withdraw: [] };
  }

  /** The caller withdrew an item: the seqs of its jobs, to withdraw from the scheduler. */
  withdraw(seq: number): number[] {
    const item = this.#items.get(seq);
    if (!item) return [];
    this.#forget(item);
    return item.jobSeqs;
  }

  /** The input of a job whose parents have all succeeded (the scheduler's `compose`, at dispatch). */
  input(task: Task): Uint8Array {
    const item = task.item as ItemRun;
    const j = task.job;
    const parents = item.def.jobs[j]!.parents;
    const input = parents.length === 1 ? item.results[parents[0]!]! : this.#keyed(item, parents);
    for (const p of parents) {
      if (--item.readers[p]! === 0 && !item.def.jobs[p]!.sink) item.results[p] = undefined;
    }
    return input;
  }

  /** A MessagePack map { jobName: result } built around the results' bytes. */
  #keyed(item: ItemRun, jobs: number[]): Uint8Array {
    const parts: Uint8Array[] = [mapHeader(jobs.length)];
    for (const j of jobs) parts.push(item.def.jobs[j]!.key, item.results[j]!);
    return concat(parts);
  }

  #forget(item: ItemRun): void {
    this.#items.delete(item.seq);
    item.settled = true;
  }
}

const EMPTY = new Uint8Array(0);
const JOB_KEY = encodeValue("job");
const ERROR_KEY = encodeValue("error");

function mapHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x80 | n);
  return Uint8Array.of(0xde, n >> 8, n & 0xff);
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}
