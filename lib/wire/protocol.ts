// The wire protocol, all of it: message kinds, the header of each, framing and validation.
// docs/protocol.md describes the same thing for people writing workers in other languages.
//
// Every message is one or two ZeroMQ frames (after the ROUTER's routing id):
//   frame 0: header, a MessagePack map { v: PROTOCOL_VERSION, k: Kind, ...fields }
//   frame 1: body (only for kinds that carry values): the MessagePack encodings of the
//            values, concatenated; header.len[i] is the byte length of value i.
// Per-task fields are columns (arrays, one entry per task). A column whose entries are all
// equal may be sent as a single scalar. The broker reads headers only: it slices bodies by
// `len` and concatenates slices, and never decodes a user value.
import { Decoder, Encoder } from "@msgpack/msgpack";
import { ProtocolError } from "../shared/errors.js";

export const PROTOCOL_VERSION = 1;

/** Message kinds. Numbers are part of the protocol; never reuse one. */
export const Kind = {
  // worker -> broker
  Hello: 1, // { pid, concurrency, name? }: a worker introduces itself
  Ready: 2, // { credit }: setup() done; can hold `credit` tasks
  WorkerResults: 3, // { seq, st, len, credit?, started? } + body: finished tasks, new credit, timed tasks just started
  Bye: 4, // { seq }: leaving; these held tasks were not run
  // broker -> worker
  Welcome: 10, // { session, grace?, maxMessageSize? } + body: workerData (one value)
  Tasks: 11, // { seq, len, fn?, att?, to? } + body
  Cancel: 12, // { seq }: drop these if not started, abort their signal if running
  Reset: 13, // {}: the broker does not know you (it restarted or declared you dead): Hello again
  Refused: 14, // { reason }: the answer to a Hello of another protocol version; read whatever the version
  // caller -> broker
  Submit: 20, // { seq, len, fn?, att?, to?, id?, after?, pipe?, sync? } + body; sync: these are all the caller has outstanding
  Withdraw: 21, // { seq }: the caller no longer wants these tasks
  StatsRequest: 22, // {}
  DefinePipeline: 23, // { id, pipeline: { jobs: [{ n: name, f: fn, a: [parent indices] }] } }
  ForgetPipeline: 24, // { id }: the map that defined it has ended (items in progress keep it)
  // broker -> caller
  Results: 30, // { seq, st, len, w?, att? } + body
  Stats: 31, // { stats }
  Retried: 32, // { seq, att }: these tasks lost their worker and were queued again; att = deaths so far
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

const KNOWN_KINDS = new Set<number>(Object.values(Kind));

/** Outcome of one task, as carried in the `st` column. */
export const Status = {
  Ok: 0, // body value: the handler's result
  Error: 1, // body value: { name, message, stack?, code? } thrown by the handler
  Timeout: 2, // body value: error info
  WorkerExit: 3, // body value: error info (attempts, last exit)
  Dependency: 4, // body value: error info (which dependency failed)
  Cancelled: 5, // body value: error info
} as const;
export type Status = (typeof Status)[keyof typeof Status];

/** A column: one value per task, or one value for all. */
export type Column<T> = T | T[];

export interface Header {
  v: number;
  k: Kind;
  [field: string]: unknown;
}

const headerEncoder = new Encoder();
const headerDecoder = new Decoder({ maxStrLength: 1 << 20, maxBinLength: 1 << 24, maxArrayLength: 1 << 20, maxMapLength: 64 });

export function encodeHeader(kind: Kind, fields?: Record<string, unknown>): Uint8Array {
  return headerEncoder.encode(fields ? { v: PROTOCOL_VERSION, k: kind, ...fields } : { v: PROTOCOL_VERSION, k: kind });
}

/** Decodes and checks frame 0. Throws ProtocolError on anything malformed. */
export function decodeHeader(frame: Uint8Array | undefined): Header {
  if (frame === undefined || frame.length === 0) throw new ProtocolError("empty header frame");
  let header: unknown;
  try {
    header = headerDecoder.decode(frame);
  } catch (err) {
    throw new ProtocolError(`header is not MessagePack: ${(err as Error).message}`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw new ProtocolError("header is not a map");
  const h = header as Header;
  // Refused is the one message every version can read: it tells a worker why it cannot join.
  if (h.v !== PROTOCOL_VERSION && h.k !== Kind.Refused) {
    throw new ProtocolError(`protocol version ${String(h.v)} (expected ${PROTOCOL_VERSION})`);
  }
  if (!KNOWN_KINDS.has(h.k)) throw new ProtocolError(`unknown message kind ${String(h.k)}`);
  return h;
}

/**
 * The protocol version of a frame that is a Hello of another version (a worker built from another
 * release of zerolb), or undefined for anything else.
 */
export function foreignHelloVersion(frame: Uint8Array | undefined): unknown {
  try {
    const h = headerDecoder.decode(frame ?? EMPTY) as Partial<Header> | null;
    if (h && typeof h === "object" && h.k === Kind.Hello && h.v !== PROTOCOL_VERSION) return h.v;
  } catch {
    // not even a map: not a Hello
  }
  return undefined;
}

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
export function bodyOffsets(h: Header, n: number, body: Uint8Array | undefined): Uint32Array {
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

/** A batch of results (WorkerResults, Results) with its columns checked. */
export interface ResultColumns {
  seq: number[];
  offsets: Uint32Array;
  st: Column<number>;
}

/** Reads and checks the columns of a WorkerResults or Results message. Throws ProtocolError. */
export function readResultBatch(h: Header, body: Uint8Array | undefined): ResultColumns {
  const seq = seqColumn(h);
  const offsets = bodyOffsets(h, seq.length, body);
  checkColumn(h, "st", seq.length, "number");
  return { seq, offsets, st: (h.st as Column<number> | undefined) ?? Status.Error };
}

export const EMPTY = new Uint8Array(0);

/**
 * A message body made of byte ranges of other buffers (results of several worker messages on their
 * way to the caller). A range that continues the previous one in the same buffer extends it as it
 * is added, so no view is made per value; `take()` joins what is left (one range: a view, no copy).
 */
export class BodyRanges {
  readonly #buffers: Uint8Array[] = [];
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];

  add(buffer: Uint8Array, start: number, end: number): void {
    const last = this.#buffers.length - 1;
    if (last >= 0 && this.#buffers[last] === buffer && this.#ends[last] === start) {
      this.#ends[last] = end;
      return;
    }
    this.#buffers.push(buffer);
    this.#starts.push(start);
    this.#ends.push(end);
  }

  /** The body, joined; the ranges are cleared. */
  take(): Uint8Array {
    const n = this.#buffers.length;
    let out: Uint8Array;
    if (n === 0) out = EMPTY;
    else if (n === 1) out = view(this.#buffers[0]!, this.#starts[0]!, this.#ends[0]!);
    else {
      const parts = new Array<Uint8Array>(n);
      let total = 0;
      for (let i = 0; i < n; i++) {
        parts[i] = view(this.#buffers[i]!, this.#starts[i]!, this.#ends[i]!);
        total += parts[i]!.length;
      }
      out = Buffer.concat(parts, total);
    }
    this.#buffers.length = 0;
    this.#starts.length = 0;
    this.#ends.length = 0;
    return out;
  }
}

function view(buffer: Uint8Array, start: number, end: number): Uint8Array {
  return start === 0 && end === buffer.length ? buffer : buffer.subarray(start, end);
}

/** How a pipeline travels to the broker: jobs in topological order, dependencies as indices. */
export interface PipelineWire {
  jobs: { n: string; f: string; a: number[] }[];
}
