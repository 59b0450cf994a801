// What `zerolb map` writes on stdout: one JSON line per result, written in batches of whole lines.
//
// Values JSON cannot carry are written this way (documented in `zerolb map --help`):
//   bigint               → decimal string          12345678901234567890n → "12345678901234567890"
//   Uint8Array / Buffer  → base64 string            Uint8Array [1, 2, 3]  → "AQID"
//   ArrayBuffer, DataView → base64 string of their bytes
//   other typed arrays   → array of numbers         Float64Array [1.5]    → [1.5] (bigint ones: strings)
//   Error                → { name, message, code?, cause?, ...own fields }
//   Date                 → ISO 8601 string          (JSON's own rule)
//   undefined, NaN, ±Infinity → null                (JSON's own rule; a top-level undefined too)

import { JsonText } from "../wire/json-text.js";

const base64 = (bytes: ArrayBufferLike, offset = 0, length = bytes.byteLength) => Buffer.from(bytes, offset, length).toString("base64");

/** JSON.stringify replacer for the types above; `this[key]` is the value before `toJSON`. */
function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (typeof value === "bigint") return value.toString();
  if (typeof raw !== "object" || raw === null) return value;
  if (raw instanceof Uint8Array || raw instanceof DataView) return base64(raw.buffer, raw.byteOffset, raw.byteLength);
  if (raw instanceof ArrayBuffer) return base64(raw);
  if (ArrayBuffer.isView(raw)) return Array.from(raw as unknown as ArrayLike<number | bigint>);
  if (raw instanceof Error) {
    const { name, message } = raw;
    const cause = (raw as { cause?: unknown }).cause;
    return { name, message, ...(raw as object), ...(cause !== undefined ? { cause } : {}) };
  }
  return value;
}

/** One value as JSON text on one line. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, replacer) ?? "null";
}

/** A failed task or line as plain data: `{ name, message, code }`. */
export interface ErrorInfo {
  name: string;
  message: string;
  code: string | null;
}

/**
 * The error to show for a failed task: the handler's own error (name, message, code) when the
 * handler threw, else the zerolb error (TimeoutError, WorkerExitError, …).
 */
export function errorInfo(error: unknown): ErrorInfo {
  if (!(error instanceof Error)) return { name: "Error", message: String(error), code: null };
  let shown: Error = error;
  const code = (error as { code?: unknown }).code;
  if (code === "ERR_ZEROLB_TASK_FAILED" && error.cause instanceof Error) shown = error.cause;
  const shownCode = (shown as { code?: unknown }).code;
  return {
    name: shown.name,
    message: shown.message,
    code: typeof shownCode === "string" || typeof shownCode === "number" ? String(shownCode) : typeof code === "string" ? code : null,
  };
}

/** A `--settled` row. */
export function settledRow(index: number, ok: boolean, valueOrError: unknown): string {
  return ok
    ? `{"index":${index},"ok":true,"value":${toJson(valueOrError)}}`
    : `{"index":${index},"ok":false,"error":${JSON.stringify(valueOrError)}}`;
}

/**
 * A `--failed` line: the item's index and input, the error shown as in `--settled` rows, and the
 * runs it had (`attempts` of a WorkerExitError or of a retried error; 1 otherwise).
 */
export function failedRow(index: number, input: unknown, error: unknown): string {
  const attempts = (error as { attempts?: unknown } | null)?.attempts;
  // An input line travels as its text (JsonText): it is written back as it was read.
  const inputJson = input instanceof JsonText ? input.text.trim() : toJson(input);
  return `{"index":${index},"input":${inputJson},"error":${JSON.stringify(errorInfo(error))},"attempts":${typeof attempts === "number" && attempts > 0 ? attempts : 1}}`;
}

const BATCH_CHARS = 64 * 1024;

/**
 * Buffers whole lines and writes them in batches: when 64 KiB have gathered, or once the current
 * burst of results has been handled (setImmediate). Every write ends with a line break, so an
 * interrupted run leaves only complete lines. `push` returns a promise only when the stream asks
 * to wait (backpressure).
 */
export class LineWriter {
  readonly #stream: NodeJS.WritableStream;
  readonly #beforeWrite: (() => void) | undefined;
  #buffer: string[] = [];
  #chars = 0;
  #scheduled: NodeJS.Immediate | undefined;
  #broken = false;
  lines = 0;

  constructor(stream: NodeJS.WritableStream, beforeWrite?: () => void) {
    this.#stream = stream;
    this.#beforeWrite = beforeWrite;
  }

  /** Whether the stream has failed (EPIPE: the reader went away). */
  get broken(): boolean {
    return this.#broken;
  }

  markBroken(): void {
    this.#broken = true;
    this.#buffer = [];
    this.#chars = 0;
  }

  push(line: string): Promise<void> | undefined {
    if (this.#broken) return undefined;
    this.#buffer.push(line, "\n");
    this.#chars += line.length + 1;
    this.lines++;
    if (this.#chars >= BATCH_CHARS) return this.flush();
    this.#scheduled ??= setImmediate(() => void this.flush());
    return undefined;
  }

  /** Writes what is buffered; resolves when the stream can take more. */
  flush(): Promise<void> | undefined {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    if (this.#chars === 0 || this.#broken) return undefined;
    const text = this.#buffer.join("");
    this.#buffer = [];
    this.#chars = 0;
    this.#beforeWrite?.();
    if (this.#stream.write(text)) return undefined;
    return new Promise<void>((resolve) => {
      const done = () => {
        this.#stream.off("drain", done);
        this.#stream.off("error", done);
        this.#stream.off("close", done);
        resolve();
      };
      this.#stream.on("drain", done);
      this.#stream.on("error", done);
      this.#stream.on("close", done);
    });
  }

  /** Flushes and waits until the stream has handed everything to the OS. */
  async end(): Promise<void> {
    await this.flush();
    if (this.#broken) return;
    // An empty write's callback runs once everything written before it is out.
    await new Promise<void>((resolve) => this.#stream.write("", () => resolve()));
  }
}
