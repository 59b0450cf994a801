// The broker's side of pipelines: an item's job becomes a task once its parents have succeeded
// (roots at once), queued ahead of new items so an item's work finishes before others start. A
// job's input is built from its parents' results as opaque MessagePack (one parent: its bytes as
// they are; several: a map keyed by job name around their bytes), so the broker never decodes a
// value. A parent's result is dropped once every job that reads it has been given its input, so
// memory stays bounded on endless input. Jobs not yet ready are a counter, not a task: no
// dependency bookkeeping in the scheduler for them.
import { encodeValue } from "./codec.js";
import { ProtocolError } from "./errors.js";
import type { PipelineWire } from "./pipeline.js";
import { Status } from "./protocol.js";
import { JOB_SEQ_BASE, newTask, type Task } from "./scheduler.js";

interface JobDef {
  name: string;
  fn: string;
  parents: number[];
  children: number[];
  sink: boolean;
  /** The job name as an encoded MessagePack string: a map key. */
  key: Uint8Array;
}

interface PipelineDef {
  jobs: JobDef[];
  sinks: number[];
  /** Per job, how many parents it has (each item starts from a copy). */
  parentCounts: number[];
  roots: number[];
}

class ItemRun {
  /** Per job: its result, kept until every child has been given its input (and, for sinks, to the end). */
  readonly results: (Uint8Array | undefined)[];
  /** Per job: the parents that have not succeeded yet, or (once it is a task) its children not yet given their input. */
  readonly pending: number[];
  /** Per job: its task while it is queued or running. */
  readonly tasks: (Task | undefined)[];
  unfinished: number;
  /** Its outcome went to the caller (or it was withdrawn): later job outcomes are ignored. */
  settled = false;

  constructor(
    readonly seq: number,
    readonly def: PipelineDef,
    /** The item's id ("" when generated from its seq), a prefix of its jobs' ids. */
    readonly id: string,
    readonly timeout: number,
  ) {
    this.results = new Array(def.jobs.length);
    this.pending = def.parentCounts.slice();
    this.tasks = new Array(def.jobs.length);
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

  /** `submit` queues a job's task; `first` puts it ahead of new items' jobs. */
  constructor(private readonly submit: (task: Task, first: boolean) => void) {}

  /** Items in progress. */
  get active(): number {
    return this.#items.size;
  }

  define(id: number, wire: PipelineWire): void {
    if (!Array.isArray(wire?.jobs) || wire.jobs.length === 0) throw new ProtocolError("pipeline has no jobs");
    const jobs: JobDef[] = wire.jobs.map((j, i) => {
      if (typeof j?.n !== "string" || typeof j.f !== "string" || !Array.isArray(j.a)) throw new ProtocolError("pipeline job is malformed");
      for (const p of j.a) if (!Number.isInteger(p) || p < 0 || p >= i) throw new ProtocolError("pipeline jobs are not in topological order");
      return { name: j.n, fn: j.f, parents: j.a, children: [], sink: false, key: encodeValue(j.n) };
    });
    jobs.forEach((job, i) => {
      for (const p of job.parents) jobs[p]!.children.push(i);
    });
    for (const job of jobs) job.sink = job.children.length === 0;
    const indexes = jobs.map((_, i) => i);
    this.#defs.set(id, {
      jobs,
      sinks: indexes.filter((i) => jobs[i]!.sink),
      roots: indexes.filter((i) => jobs[i]!.parents.length === 0),
      parentCounts: jobs.map((j) => j.parents.length),
    });
  }

  has(id: number): boolean {
    return this.#defs.has(id);
  }

  isJob(seq: number): boolean {
    return seq >= JOB_SEQ_BASE;
  }

  /** Starts an item: its root jobs are queued with the item's payload as their input. */
  start(seq: number, pipelineId: number, payload: Uint8Array, timeout: number, id: string): void {
    const def = this.#defs.get(pipelineId);
    if (!def) throw new ProtocolError(`unknown pipeline ${pipelineId}`);
    const item = new ItemRun(seq, def, id, timeout);
    this.#items.set(seq, item);
    for (const j of def.roots) this.#queueJob(item, j, payload, false);
  }

  /**
   * A job's outcome. Returns the item's outcome when this settles it: all jobs done (a map of the
   * sinks' results), or the first failure (the item fails; its queued and running jobs are to be
   * withdrawn). Children whose parents have all succeeded are queued.
   */
  jobFinished(task: Task, status: number, bytes: Uint8Array): ItemOutcome | undefined {
    const item = task.item as ItemRun | undefined;
    if (!item || item.settled) return undefined;
    const j = task.job;
    item.tasks[j] = undefined;
    const job = item.def.jobs[j]!;
    if (status !== Status.Ok) {
      this.#forget(item);
      const failure = concat([mapHeader(2), JOB_KEY, job.key, ERROR_KEY, bytes]);
      return { seq: item.seq, status, bytes: failure, withdraw: liveSeqs(item) };
    }
    item.results[j] = bytes;
    if (--item.unfinished === 0) {
      // The last job is a sink (every other job has a child still to run).
      this.#forget(item);
      return { seq: item.seq, status: Status.Ok, bytes: this.#keyed(item, item.def.sinks), withdraw: NONE };
    }
    const children = job.children;
    item.pending[j] = children.length;
    for (const c of children) {
      if (--item.pending[c]! === 0) this.#queueJob(item, c, this.#input(item, c), true);
    }
    return undefined;
  }

  /** The caller withdrew an item: the seqs of its queued and running jobs, to withdraw from the scheduler. */
  withdraw(seq: number): number[] {
    const item = this.#items.get(seq);
    if (!item) return [];
    this.#forget(item);
    return liveSeqs(item);
  }

  #queueJob(item: ItemRun, j: number, input: Uint8Array, first: boolean): void {
    const job = item.def.jobs[j]!;
    const task = newTask(this.#nextJobSeq++, `${item.id || item.seq}:${job.name}`, job.fn, item.timeout, 0, input);
    task.item = item;
    task.job = j;
    item.tasks[j] = task;
    this.submit(task, first);
  }

  /** The input of job `c`, whose parents have all succeeded; a parent's result is dropped after its last reader. */
  #input(item: ItemRun, c: number): Uint8Array {
    const parents = item.def.jobs[c]!.parents;
    const input = parents.length === 1 ? item.results[parents[0]!]! : this.#keyed(item, parents);
    for (const p of parents) {
      if (--item.pending[p]! === 0 && !item.def.jobs[p]!.sink) item.results[p] = undefined;
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

const NONE: number[] = [];
const JOB_KEY = encodeValue("job");
const ERROR_KEY = encodeValue("error");

function liveSeqs(item: ItemRun): number[] {
  const seqs: number[] = [];
  for (const task of item.tasks) if (task) seqs.push(task.seq);
  return seqs;
}

function mapHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x80 | n);
  return Uint8Array.of(0xde, n >> 8, n & 0xff);
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}
