// The broker's side of pipelines: an item's job becomes a task once its parents have succeeded
// (roots at once), queued ahead of new items so an item's work finishes before others start. A
// job's input is built from its parents' results as opaque MessagePack (one parent: its bytes as
// they are; several: a map keyed by job name around their bytes), so the broker never decodes a
// value. A parent's result is dropped once every job that reads it has been given its input, so
// memory stays bounded on endless input. Jobs not yet ready are a counter, not a task: no
// dependency bookkeeping in the scheduler for them.
import { encodeValue } from "../wire/codec.js";
import { ProtocolError } from "../shared/errors.js";
import type { Header, PipelineWire } from "../wire/protocol.js";
import { Status } from "../wire/protocol.js";
import { JOB_SEQ_BASE } from "./scheduler.js";
import { newTask, renewTask, type Task } from "./records.js";

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
  /** The MessagePack map header of the item's result (a map of the sinks). */
  sinksHeader: Uint8Array;
  roots: number[];
}

class ItemRun {
  /**
   * Per job: its finished task, whose payload range now holds the job's result (no view of its
   * own), kept until every child has been given its input (and, for sinks, to the end).
   */
  readonly results: (Task | undefined)[];
  /** Per job: the parents that have not succeeded yet, or (once it is a task) its children not yet given their input. */
  readonly pending: number[];
  /** Per job: its task while it is queued or running. */
  readonly tasks: (Task | undefined)[];
  unfinished: number;
  /** Its outcome went to the caller (or it was withdrawn): later job outcomes are ignored. */
  settled = false;
  /** "<item id>:", the start of its jobs' ids (made once). */
  idPrefix: string | undefined;

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
  /** A failed item's error: { job, error }. A finished item's result is written by writeResult(). */
  bytes: Uint8Array | undefined;
  /** Jobs of a failed item still pending: withdraw them. */
  withdraw: number[];
  item: ItemRun;
}

/** Where an item's result goes: a result made of byte ranges (the broker's batch for the caller). */
export interface ResultWriter {
  add(seq: number, status: number, buffer: Uint8Array, start: number, end: number): void;
  /** Appends bytes to the result added last. */
  extend(buffer: Uint8Array, start: number, end: number): void;
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
      sinksHeader: mapHeader(jobs.filter((j) => j.sink).length),
    });
  }

  has(id: number): boolean {
    return this.#defs.has(id);
  }

  /** The caller's map is done with a pipeline: its definition goes (items still running keep theirs). */
  forget(id: number): void {
    this.#defs.delete(id);
  }

  /** Whether the item with this seq is in progress. */
  holds(seq: number): boolean {
    return this.#items.has(seq);
  }

  /** Seqs of the items in progress (a copy). */
  itemSeqs(): number[] {
    return [...this.#items.keys()];
  }

  isJob(seq: number): boolean {
    return seq >= JOB_SEQ_BASE;
  }

  /** Starts an item: its root jobs are queued with the item's input, bytes [start, end) of `buffer`. */
  start(seq: number, pipelineId: number, buffer: Uint8Array, start: number, end: number, timeout: number, id: string): void {
    const def = this.#defs.get(pipelineId);
    if (!def) throw new ProtocolError(`unknown pipeline ${pipelineId}`);
    const item = new ItemRun(seq, def, id, timeout);
    this.#items.set(seq, item);
    for (const j of def.roots) this.#queueJob(item, j, buffer, start, end, false);
  }

  /**
   * A job's outcome: bytes [start, end) of `buffer`. Returns the item's outcome when this settles
   * it: all jobs done (its result, a map of the sinks' results, is then written by writeResult()),
   * or the first failure (the item fails; its queued and running jobs are to be withdrawn).
   * Children whose parents have all succeeded are queued.
   */
  jobFinished(task: Task, status: number, buffer: Uint8Array, start: number, end: number): ItemOutcome | undefined {
    const item = task.item as ItemRun | undefined;
    if (!item || item.settled) return undefined;
    const j = task.job;
    item.tasks[j] = undefined;
    const job = item.def.jobs[j]!;
    if (status !== Status.Ok) {
      this.#forget(item);
      const failure = concat([mapHeader(2), JOB_KEY, job.key, ERROR_KEY, buffer.subarray(start, end)]);
      return { seq: item.seq, status, bytes: failure, withdraw: liveSeqs(item), item };
    }
    // The finished task record now holds the result's range.
    task.payload = buffer;
    task.payloadStart = start;
    task.payloadEnd = end;
    item.results[j] = task;
    if (--item.unfinished === 0) {
      // The last job is a sink (every other job has a child still to run).
      this.#forget(item);
      return { seq: item.seq, status: Status.Ok, bytes: undefined, withdraw: NONE, item };
    }
    const children = job.children;
    item.pending[j] = children.length;
    for (const c of children) {
      if (--item.pending[c]! === 0) this.#queueReady(item, c);
    }
    return undefined;
  }

  /** A finished item's result, { sink: result, ... }, written around the sinks' result bytes. */
  writeResult(outcome: ItemOutcome, out: ResultWriter): void {
    const { item } = outcome;
    const header = item.def.sinksHeader;
    out.add(item.seq, Status.Ok, header, 0, header.length);
    for (const j of item.def.sinks) {
      const key = item.def.jobs[j]!.key;
      const result = item.results[j]!;
      out.extend(key, 0, key.length);
      out.extend(result.payload, result.payloadStart, result.payloadEnd);
    }
  }

  /** The caller withdrew an item: the seqs of its queued and running jobs, to withdraw from the scheduler. */
  withdraw(seq: number): number[] {
    const item = this.#items.get(seq);
    if (!item) return [];
    this.#forget(item);
    return liveSeqs(item);
  }

  #queueJob(item: ItemRun, j: number, buffer: Uint8Array, start: number, end: number, first: boolean): void {
    const task = newTask(this.#nextJobSeq++, this.#jobId(item, j), item.def.jobs[j]!.fn, item.timeout, 0, buffer, start, end);
    task.item = item;
    task.job = j;
    item.tasks[j] = task;
    this.submit(task, first);
  }

  /**
   * Queues job `c` in the finished task record of its only parent `p`, of which it is the only
   * reader: that record already holds its input (the parent's result), and the scheduler let go of
   * it when the parent finished. A linear pipeline then allocates one task record per item.
   */
  #queueInParent(item: ItemRun, c: number, p: number): void {
    const task = renewTask(item.results[p]!, this.#nextJobSeq++, this.#jobId(item, c), item.def.jobs[c]!.fn);
    item.results[p] = undefined;
    task.job = c;
    item.tasks[c] = task;
    this.submit(task, true);
  }

  #jobId(item: ItemRun, j: number): string {
    return (item.idPrefix ??= `${item.id || item.seq}:`) + item.def.jobs[j]!.name;
  }

  /**
   * Queues job `c`, whose parents have all succeeded: one parent's result is its input as it is;
   * several are composed into a map. A parent's result is dropped after its last reader.
   */
  #queueReady(item: ItemRun, c: number): void {
    const parents = item.def.jobs[c]!.parents;
    const only = parents.length === 1 ? parents[0]! : -1;
    if (only >= 0 && item.def.jobs[only]!.children.length === 1) return this.#queueInParent(item, c, only);
    if (only >= 0) {
      const parent = item.results[only]!;
      this.#queueJob(item, c, parent.payload, parent.payloadStart, parent.payloadEnd, true);
    } else {
      const input = this.#keyed(item, parents);
      this.#queueJob(item, c, input, 0, input.length, true);
    }
    for (const p of parents) {
      if (--item.pending[p]! === 0 && !item.def.jobs[p]!.sink) item.results[p] = undefined;
    }
  }

  /** A MessagePack map { jobName: result } built around the results' bytes. */
  #keyed(item: ItemRun, jobs: number[]): Uint8Array {
    const parts: Uint8Array[] = [mapHeader(jobs.length)];
    for (const j of jobs) {
      const result = item.results[j]!;
      parts.push(item.def.jobs[j]!.key, result.payload.subarray(result.payloadStart, result.payloadEnd));
    }
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

/** A pipeline message's `id` (the pipeline's number), or a ProtocolError. */
export function pipelineId(header: Header): number {
  if (!Number.isSafeInteger(header.id)) throw new ProtocolError("pipeline id is not an integer");
  return header.id as number;
}
