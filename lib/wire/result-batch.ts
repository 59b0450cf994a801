// Batches of results (WorkerResults from a worker, Results to the caller): read and checked here.
import { bodyOffsets, checkColumn, seqColumn, type Column } from "./columns.js";
import { Status, type Header } from "./protocol.js";

/** A batch of results (WorkerResults, Results) with its columns checked. */
export interface ResultColumns {
  seq: number[];
  offsets: Uint32Array;
  st: Column<number>;
}

/** Reads and checks the columns of a WorkerResults or Results message. Throws ProtocolError. */
export function readResultBatch(h: Header, body: { readonly length: number } | undefined): ResultColumns {
  const seq = seqColumn(h);
  const offsets = bodyOffsets(h, seq.length, body);
  checkColumn(h, "st", seq.length, "number");
  return { seq, offsets, st: (h.st as Column<number> | undefined) ?? Status.Error };
}
