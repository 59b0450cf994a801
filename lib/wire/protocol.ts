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
import { EMPTY } from "./body-ranges.js";

export const PROTOCOL_VERSION = 1;

/** Message kinds. Numbers are part of the protocol; never reuse one. */
export const Kind = {
  // worker -> broker
  Hello: 1, // { pid, concurrency, name? }: a worker introduces itself
  Ready: 2, // { credit }: setup() done; can hold `credit` tasks
  WorkerResults: 3, // { seq, st, len, credit?, started? } + body: finished tasks, new credit, timed tasks just started
  Bye: 4, // { seq, error? }: leaving; these held tasks were not run; error: its set-up failed (an error value)
  // broker -> worker
  Welcome: 10, // { session, grace?, maxMessageSize? } + body: workerData (one value)
  Tasks: 11, // { seq, len, fn?, att?, to? } + body
  Cancel: 12, // { seq }: drop these if not started, abort their signal if running
  Reset: 13, // {}: the broker does not know you (it restarted or declared you dead): Hello again
  Refused: 14, // { reason }: the answer to a Hello of another protocol version; read whatever the version
  Goodbye: 15, // {}: the LoadBalancer is closing for good: drop what you hold; the next broker at this endpoint (if any) will Reset you
  // caller -> broker
  Submit: 20, // { seq, len, fn?, att?, to?, id?, after?, pipe?, sync? } + body; sync: these are all the caller has outstanding
  Withdraw: 21, // { seq }: the caller no longer wants these tasks
  StatsRequest: 22, // {}
  DefinePipeline: 23, // { id, pipeline: { jobs: [{ n: name, f: fn, a: [parent indices] }] } }
  ForgetPipeline: 24, // { id }: the map that defined it has ended (items in progress keep it)
  // broker -> caller
  Results: 30, // { seq, st, len, w?, att? } + body
  Stats: 31, // { stats }
  Retried: 32, // { seq, att, why? }: these tasks lost their worker and were queued again; att = deaths so far; why: how it was lost
  Membership: 33, // { ev: "join" | "exit", id, pid, local, name?, reason? }: a worker joined (its first Ready) or was taken out
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

/** How a pipeline travels to the broker: jobs in topological order, dependencies as indices. */
export interface PipelineWire {
  jobs: { n: string; f: string; a: number[] }[];
}
