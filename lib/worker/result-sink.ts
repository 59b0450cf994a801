// The results a worker has not sent yet, and the WorkerResults message they leave in: values
// encoded straight into one body, their seqs and statuses as columns, and the timed tasks just
// started (announced so the broker can tell a stuck handler from one that has not started).
import { UnsupportedValueError } from "../shared/errors.js";
import { EMPTY } from "../wire/body-ranges.js";
import { BodyWriter } from "../wire/body-writer.js";
import { appendValue, encodeValue } from "../wire/codec.js";
import { column } from "../wire/columns.js";
import { serializeError, type RemoteError } from "../wire/error-wire.js";
import type { Frames } from "../wire/outbox.js";
import { encodeHeader, Kind, Status } from "../wire/protocol.js";

/** Room left in a message to a broker with a `maxMessageSize` for its header, per result and fixed. */
const HEADER_BYTES_PER_RESULT = 24;
const HEADER_BYTES = 256;

export class ResultSink {
  /** Chunked: a large result gets a buffer (a frame of the message) of its own, copied once. */
  readonly #body = new BodyWriter(4096, { chunked: true });
  /** The broker reads bodies of several frames (its Welcome said `mf`); else a body goes as one frame. */
  multiFrame = false;
  // Reused from message to message: the header is encoded as soon as they are complete.
  readonly #seq: number[] = [];
  readonly #st: number[] = [];
  /** Timed tasks started since the last message: the next message announces them (`started`). */
  readonly #announced: number[] = [];
  /** Positions (in #seq) of failures whose error says `retryable: false`: the `nr` column. */
  readonly #noRetry: number[] = [];
  /**
   * The window grew without a result to carry the credit (batched tasks came): the next message may
   * be credit alone. Only then: otherwise the window's small moves would each cost a message.
   */
  creditDue = false;
  /** From Welcome (remote brokers): the largest message the broker accepts; 0 = no limit. */
  maxMessageSize = 0;
  /** Called with a message that must leave before the next result (a full one, see add()). */
  readonly #sealed: (frames: Frames) => void;
  /** The credit to grant with the next message (computed when it is made). */
  readonly #grant: () => number;

  constructor(sealed: (frames: Frames) => void, grant: () => number) {
    this.#sealed = sealed;
    this.#grant = grant;
  }

  /** Results waiting. */
  get count(): number {
    return this.#seq.length;
  }

  /** Bytes of results waiting. */
  get byteLength(): number {
    return this.#body.byteLength;
  }

  /** Announces a timed task's start with the next message. */
  announce(seq: number): void {
    this.#announced.push(seq);
  }

  /**
   * A task's outcome: `value` for status Ok, an error value otherwise. A value that cannot be sent
   * fails its task, naming where it is. With a `maxMessageSize`, a result that could never fit
   * fails its task instead (the broker would cut this worker off for sending it), and results
   * that would not fit with those already waiting leave in a message of their own.
   */
  add(seq: number, status: number, value: unknown, id: string): void {
    if (this.maxMessageSize > 0) return this.#addChecked(seq, status, value, id);
    try {
      appendValue(this.#body, value, status === Status.Ok ? "result" : "error");
    } catch (err) {
      status = Status.Error;
      value = undefined; // the user's value is not looked at again (a getter could throw)
      this.#body.append(encodeValue(unsendable(id, err)));
    }
    this.#push(seq, status, value);
  }

  #push(seq: number, status: number, value: unknown): void {
    if (status !== Status.Ok && (value as { retryable?: unknown } | null)?.retryable === false) this.#noRetry.push(this.#seq.length);
    this.#seq.push(seq);
    this.#st.push(status);
  }

  #addChecked(seq: number, status: number, value: unknown, id: string): void {
    let bytes: Uint8Array;
    try {
      bytes = encodeValue(value, status === Status.Ok ? "result" : "error");
    } catch (err) {
      status = Status.Error;
      value = undefined;
      bytes = encodeValue(unsendable(id, err));
    }
    const room = this.maxMessageSize - HEADER_BYTES;
    if (bytes.length + HEADER_BYTES_PER_RESULT > room) {
      status = Status.Error;
      value = undefined;
      bytes = encodeValue(serializeError(new RangeError(
        `the result of task ${id} is ${bytes.length} bytes encoded, more than the broker accepts in one message (maxMessageSize ${this.maxMessageSize})`,
      )));
    }
    const pending = this.#seq.length;
    if (pending > 0 && this.#body.byteLength + bytes.length + (pending + 1) * HEADER_BYTES_PER_RESULT > room) {
      const frames = this.take();
      if (frames) this.#sealed(frames);
    }
    this.#body.append(bytes);
    this.#push(seq, status, value);
  }

  /** The WorkerResults message for what has accumulated (with new credit), or undefined. */
  take(): Frames | undefined {
    let grant: number | undefined;
    if (this.#seq.length === 0 && this.#announced.length === 0) {
      // Nothing to report, but more room than the broker knows of (see creditDue): credit alone,
      // so that a batch can fill without waiting for a result.
      if (!this.creditDue) return undefined;
      this.creditDue = false;
      grant = this.#grant();
      if (grant <= 0) return undefined;
    }
    const { frames, lengths } = this.#body.takeFrames();
    const fields: Record<string, unknown> = { seq: this.#seq, st: column(this.#st), len: lengths };
    if (this.#noRetry.length > 0) {
      const nr = new Array<number>(this.#seq.length).fill(0);
      for (const i of this.#noRetry) nr[i] = 1;
      fields.nr = nr;
      this.#noRetry.length = 0;
    }
    if (this.#announced.length > 0) {
      fields.started = this.#announced.slice();
      this.#announced.length = 0;
    }
    grant ??= this.#grant();
    if (grant > 0) fields.credit = grant;
    const header = encodeHeader(Kind.WorkerResults, fields);
    this.#seq.length = 0;
    this.#st.length = 0;
    if (frames.length > 1 && this.multiFrame) return [header, ...frames];
    return [header, frames.length === 0 ? EMPTY : frames.length === 1 ? frames[0]! : Buffer.concat(frames)];
  }

  /** Drops everything waiting (the broker reset this worker: it no longer expects these). */
  clear(): void {
    this.#body.takeFrames();
    this.#seq.length = 0;
    this.#st.length = 0;
    this.#announced.length = 0;
    this.#noRetry.length = 0;
  }
}

/** The error value of a task whose result cannot be encoded, naming where in the result. */
function unsendable(id: string, err: unknown): RemoteError {
  const path = err instanceof UnsupportedValueError ? err.path : "result";
  return serializeError(new UnsupportedValueError(`the result of task ${id} cannot be sent: ${describeThrown(err)}`, path));
}

/** A thrown value's message, whatever was thrown (reading it may throw too). */
export function describeThrown(err: unknown): string {
  try {
    return err instanceof Error ? err.message : String(err);
  } catch {
    return typeof err;
  }
}
