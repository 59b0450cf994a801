// Columns: per-task fields of a batch message, one entry per task in `seq` order, or one scalar
// standing for all (see docs/protocol.md, "Columns"), and the checks every receiver runs on them.
import { ProtocolError } from "../shared/errors.js";
import type { Header } from "./protocol.js";

/** A column: one value per task, or one value for all. */
export type Column<T> = T | T[];

/** Compresses a column: all-equal entries become one scalar. */
export function column<T>(values: T[]): Column<T> {
  const first = values[0];
  for (let i = 1; i < values.length; i++) if (values[i] !== first) return values;
  return values.length === 0 ? values : (first as T);
}

/**
 * Builds a column value by value: a scalar while every value is the same, an array from the first
 * that differs. A batch of like tasks allocates nothing per task for it.
 */
export class ColumnBuilder<T> {
  #first: T | undefined;
  #values: T[] | undefined;
  #count = 0;

  push(value: T): void {
    if (this.#values) this.#values.push(value);
    else if (this.#count === 0) this.#first = value;
    else if (value !== this.#first) {
      this.#values = new Array<T>(this.#count).fill(this.#first as T);
      this.#values.push(value);
    }
    this.#count++;
  }

  /** What column() would give for the values pushed. */
  take(): Column<T> {
    return this.#values ?? (this.#count === 0 ? [] : (this.#first as T));
  }
}

/** Entry i of a column. */
export function at<T>(col: Column<T> | undefined, i: number, fallback: T): T {
  if (col === undefined) return fallback;
  if (Array.isArray(col)) return (col[i] as T | undefined) ?? fallback;
  return col;
}

/** Checks that `seq` is an array of non-negative integers and returns it. */
export function seqColumn(h: Header): number[] {
  const seq = h.seq;
  if (!Array.isArray(seq)) throw new ProtocolError("seq is not an array");
  for (const s of seq) if (!Number.isSafeInteger(s) || (s as number) < 0) throw new ProtocolError("seq holds a non-integer");
  return seq as number[];
}

/** Checks the `started` column (seqs of timed tasks a worker announces as started) and returns it. */
export function startedColumn(h: Header): number[] {
  const started = h.started;
  if (!Array.isArray(started)) throw new ProtocolError("started is not an array");
  for (const s of started) if (!Number.isSafeInteger(s) || (s as number) < 0) throw new ProtocolError("started holds a non-integer");
  return started as number[];
}

/**
 * Checks the `len` column against the body and returns start offsets (length n + 1), so value i
 * is body.subarray(offsets[i], offsets[i + 1]).
 */
export function bodyOffsets(h: Header, n: number, body: { readonly length: number } | undefined): Uint32Array {
  const len = h.len;
  if (!Array.isArray(len) || len.length !== n) throw new ProtocolError("len column does not match seq");
  const offsets = new Uint32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const l = len[i];
    if (!Number.isSafeInteger(l) || l < 0) throw new ProtocolError("len holds a non-integer");
    total += l as number;
    offsets[i + 1] = total;
  }
  if (total !== (body?.length ?? 0)) throw new ProtocolError(`body is ${body?.length ?? 0} bytes, header says ${total}`);
  return offsets;
}

/** Checks a column is absent, a scalar of `type`, or an array of n such scalars. */
export function checkColumn(h: Header, name: string, n: number, type: "number" | "string"): void {
  const col = h[name];
  if (col === undefined || typeof col === type) return;
  if (Array.isArray(col) && col.length === n && col.every((x) => typeof x === type)) return;
  throw new ProtocolError(`${name} column is malformed`);
}
