// Batches of tasks (Submit from the caller, Tasks to a worker): the writer that builds their
// columns and the reader that checks them, side by side so they cannot drift apart.
import { ProtocolError } from "../shared/errors.js";
import { at, bodyOffsets, checkColumn, ColumnBuilder, seqColumn, type Column } from "./columns.js";
import type { Header } from "./protocol.js";
import { DEFAULT_BATCH_WAIT, DEFAULT_RETRY_DELAY, NO_CONTROLS, taskControls, type TaskControls } from "./task-controls.js";

/** The optional control columns, each with the value an absent column stands for. */
const CONTROL_COLUMNS = [
  ["rt", "retries", 0], ["rd", "retryDelay", DEFAULT_RETRY_DELAY], ["pr", "priority", 0], ["bs", "batchSize", 1], ["bw", "batchWait", DEFAULT_BATCH_WAIT],
] as const;

/**
 * Builds the columns of a batch of tasks, one task at a time, in the order of their body values:
 * a column whose entries are all equal goes as one scalar, with no array made for it.
 */
export class TaskBatchWriter {
  #seq: number[] = [];
  #fn = new ColumnBuilder<string>();
  #to = new ColumnBuilder<number>();
  #att = new ColumnBuilder<number>();
  #id = new ColumnBuilder<string>();
  /** The tasks' controls, one entry per task: columns made only for those that differ from the default. */
  #controls: TaskControls[] = [];
  #customControls = false;

  /** Tasks added since the last take(). */
  get size(): number {
    return this.#seq.length;
  }

  /** The seqs added so far, in order (the batch's `seq` column until take()). */
  get seqs(): readonly number[] {
    return this.#seq;
  }

  /** One task: `att` is the attempt (Tasks) or the deaths so far (Submit); `id` "" for a generated id. */
  add(seq: number, fn: string, timeout: number, att: number, id: string, controls: TaskControls = NO_CONTROLS): void {
    if (controls !== NO_CONTROLS && !this.#customControls) {
      this.#customControls = true;
      this.#controls = new Array<TaskControls>(this.#seq.length).fill(NO_CONTROLS);
    }
    if (this.#customControls) this.#controls.push(controls);
    this.#seq.push(seq);
    this.#fn.push(fn);
    this.#to.push(timeout);
    this.#att.push(att);
    this.#id.push(id);
  }

  /** The batch's header fields with `len` (the body values' byte lengths); the writer starts afresh. */
  take(len: number[]): Record<string, unknown> {
    const fields: Record<string, unknown> = { seq: this.#seq, len, fn: this.#fn.take(), to: this.#to.take(), att: this.#att.take(), id: this.#id.take() };
    if (this.#customControls) {
      // A column goes only when some task differs from its default: older peers never see one.
      for (const [name, key, fallback] of CONTROL_COLUMNS) {
        const col = new ColumnBuilder<number>();
        for (const c of this.#controls) col.push(c[key]);
        const taken = col.take();
        if (taken !== fallback) fields[name] = taken;
      }
    }
    if (this.#customControls) {
      this.#controls = [];
      this.#customControls = false;
    }
    this.#seq = [];
    this.#fn = new ColumnBuilder<string>();
    this.#to = new ColumnBuilder<number>();
    this.#att = new ColumnBuilder<number>();
    this.#id = new ColumnBuilder<string>();
    return fields;
  }
}

/** A batch of tasks (Submit, Tasks) with its columns checked: value i is body[offsets[i], offsets[i+1]). */
export interface TaskBatch {
  seq: number[];
  offsets: Uint32Array;
  fn: Column<string> | undefined;
  to: Column<number> | undefined;
  att: Column<number> | undefined;
  id: Column<string> | undefined;
  /** The controls of task i (rt, rd, pr, bs, bw): one shared object while the columns are scalars. */
  controls(i: number): TaskControls;
}

/** Reads and checks the columns of a Submit or Tasks message. Throws ProtocolError. */
export function readTaskBatch(h: Header, body: { readonly length: number } | undefined): TaskBatch {
  const seq = seqColumn(h);
  const n = seq.length;
  const offsets = bodyOffsets(h, n, body);
  checkColumn(h, "fn", n, "string");
  checkColumn(h, "to", n, "number");
  checkColumn(h, "att", n, "number");
  checkColumn(h, "id", n, "string");
  let scalar = true;
  for (const [name] of CONTROL_COLUMNS) {
    checkColumn(h, name, n, "number");
    const col = h[name];
    if (Array.isArray(col)) scalar = false;
    if (col !== undefined && !(Array.isArray(col) ? col : [col]).every((x) => Number.isFinite(x) && (x as number) >= (name === "pr" ? -Infinity : 0))) {
      throw new ProtocolError(`${name} column holds a value out of range`);
    }
  }
  const controlsAt = (i: number): TaskControls =>
    taskControls(at(h.rt as Column<number>, i, 0), at(h.rd as Column<number>, i, DEFAULT_RETRY_DELAY), at(h.pr as Column<number>, i, 0), at(h.bs as Column<number>, i, 1), at(h.bw as Column<number>, i, DEFAULT_BATCH_WAIT));
  const shared = scalar ? controlsAt(0) : undefined;
  return {
    controls: shared ? () => shared : controlsAt,
    seq, offsets,
    fn: h.fn as Column<string> | undefined,
    to: h.to as Column<number> | undefined,
    att: h.att as Column<number> | undefined,
    id: h.id as Column<string> | undefined,
  };
}
