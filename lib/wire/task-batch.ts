// Batches of tasks (Submit from the caller, Tasks to a worker): the writer that builds their
// columns and the reader that checks them, side by side so they cannot drift apart.
import { bodyOffsets, checkColumn, ColumnBuilder, seqColumn, type Column } from "./columns.js";
import type { Header } from "./protocol.js";

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

  /** Tasks added since the last take(). */
  get size(): number {
    return this.#seq.length;
  }

  /** The seqs added so far, in order (the batch's `seq` column until take()). */
  get seqs(): readonly number[] {
    return this.#seq;
  }

  /** One task: `att` is the attempt (Tasks) or the deaths so far (Submit); `id` "" for a generated id. */
  add(seq: number, fn: string, timeout: number, att: number, id: string): void {
    this.#seq.push(seq);
    this.#fn.push(fn);
    this.#to.push(timeout);
    this.#att.push(att);
    this.#id.push(id);
  }

  /** The batch's header fields with `len` (the body values' byte lengths); the writer starts afresh. */
  take(len: number[]): Record<string, unknown> {
    const fields = { seq: this.#seq, len, fn: this.#fn.take(), to: this.#to.take(), att: this.#att.take(), id: this.#id.take() };
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
}

/** Reads and checks the columns of a Submit or Tasks message. Throws ProtocolError. */
export function readTaskBatch(h: Header, body: Uint8Array | undefined): TaskBatch {
  const seq = seqColumn(h);
  const n = seq.length;
  const offsets = bodyOffsets(h, n, body);
  checkColumn(h, "fn", n, "string");
  checkColumn(h, "to", n, "number");
  checkColumn(h, "att", n, "number");
  checkColumn(h, "id", n, "string");
  return {
    seq, offsets,
    fn: h.fn as Column<string> | undefined,
    to: h.to as Column<number> | undefined,
    att: h.att as Column<number> | undefined,
    id: h.id as Column<string> | undefined,
  };
}
