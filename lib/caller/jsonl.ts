// JSON Lines (one JSON value per line) read from a stream, one line at a time: never the whole
// input in memory. A line that is not JSON is reported with its line number and file name.
import { JsonLinesError } from "../shared/errors.js";
import { JsonText } from "../wire/json-text.js";
import { StringDecoder } from "node:string_decoder";
import { describe, fail as invalidOption, integer, knownNames, optionsObject } from "../shared/validate.js";


/** Options of {@link parseJsonLines} and {@link jsonLineRecords}. */
export interface JsonLinesOptions {
  /** Name of the source, used in error messages (`data.jsonl:12: …`). */
  file?: string;
  /**
   * What to do with a line that is not JSON: `"throw"` a {@link JsonLinesError} (ends the
   * iteration), or `"skip"` it. {@link jsonLineRecords} also takes `"yield"`: the record carries the
   * error and the iteration goes on.
   * @default "throw"
   */
  invalid?: "throw" | "skip" | "yield";
  /**
   * Longest line accepted, in UTF-16 code units; a longer one is an invalid line. Bounds the memory
   * a file without line breaks can take.
   * @default 67108864 (64 Mi)
   */
  maxLineLength?: number;
  /** Character encoding of byte chunks. @default "utf8" */
  encoding?: BufferEncoding;
}

/** A line that holds a JSON value. */
export interface JsonLineValue {
  /** The line parsed. */
  ok: true;
  /** The parsed value. */
  value: unknown;
  /** 1-based line number (blank lines count). */
  line: number;
  /** The file name given in the options, or `undefined`. */
  file: string | undefined;
}

/** A line that is not JSON (with `invalid: "yield"`). */
export interface JsonLineInvalid {
  /** The line did not parse. */
  ok: false;
  /** What is wrong with it, naming file and line. */
  error: JsonLinesError;
  /** 1-based line number (blank lines count). */
  line: number;
  /** The file name given in the options, or `undefined`. */
  file: string | undefined;
}

/** One non-blank line of JSON Lines input, as {@link jsonLineRecords} yields it. */
export type JsonLine = JsonLineValue | JsonLineInvalid;

/** Where a line of text comes from: a Node `Readable` (text or bytes) or any (async) iterable of chunks. */
export type TextSource = AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>;

const DEFAULT_MAX_LINE = 64 * 1024 * 1024;
const JSONL_OPTIONS: readonly string[] = ["file", "invalid", "maxLineLength", "encoding"];

/** Checks the options of parseJsonLines / jsonLineRecords, as every call's options are checked. */
function checkJsonLinesOptions(where: string, input: unknown): { file: string | undefined; invalid: "throw" | "skip" | "yield"; maxLineLength: number; encoding: BufferEncoding } {
  const options = optionsObject(where, input);
  knownNames(where, options, JSONL_OPTIONS);
  const file = options.file;
  if (file !== undefined && typeof file !== "string") invalidOption(`${where}options.file must be a string; received ${describe(file)}`);
  const invalid = options.invalid ?? "throw";
  if (invalid !== "throw" && invalid !== "skip" && invalid !== "yield") invalidOption(`${where}options.invalid must be "throw", "skip" or "yield"; received ${describe(invalid)}`);
  const encoding = options.encoding ?? "utf8";
  if (typeof encoding !== "string" || !Buffer.isEncoding(encoding)) invalidOption(`${where}options.encoding must be a Buffer encoding such as "utf8"; received ${describe(encoding)}`);
  return { file, invalid, maxLineLength: integer(where, options, "maxLineLength", { min: 1 }, DEFAULT_MAX_LINE), encoding };
}

/**
 * Parses JSON Lines from a text stream, one line at a time, into an async iterable of values.
 *
 * Lines end with `\n` or `\r\n`; blank lines are skipped (but counted in line numbers); a UTF-8
 * byte order mark at the start is ignored; multi-byte characters split across chunks are handled.
 * A line that is not JSON throws a {@link JsonLinesError} naming the file and the line number
 * (or is skipped with `invalid: "skip"`).
 *
 * @example
 * ```ts
 * import { createReadStream } from "node:fs";
 * import { LoadBalancer, parseJsonLines } from "zerolb";
 *
 * const records = parseJsonLines(createReadStream("data.jsonl"), { file: "data.jsonl" });
 * for await (const result of lb.map(records)) console.log(JSON.stringify(result));
 * ```
 */
export async function* parseJsonLines(source: TextSource, options: JsonLinesOptions = {}): AsyncGenerator<unknown, void, undefined> {
  checkJsonLinesOptions("parseJsonLines(): ", options);
  if (options.invalid === "yield") invalidOption('parseJsonLines(): invalid: "yield" is for jsonLineRecords()');
  for await (const record of jsonLineRecords(source, options)) {
    if (record.ok) yield record.value;
  }
}

/**
 * Like {@link parseJsonLines}, but yields a record per non-blank line with its line number:
 * `{ ok: true, value, line, file }`, or with `invalid: "yield"` also `{ ok: false, error, line, file }`
 * for a line that is not JSON, and goes on.
 */
export async function* jsonLineRecords(source: TextSource, options: JsonLinesOptions = {}): AsyncGenerator<JsonLine, void, undefined> {
  // Options are checked on the first next(), as before: a bad option rejects, never throws.
  yield* readJsonLines(source, checkJsonLinesOptions("jsonLineRecords(): ", options), true);
}

/**
 * Like {@link jsonLineRecords} with `invalid: "yield"`, but each line's value is its text, unparsed,
 * in a JsonText: for `zerolb map`, whose workers parse the lines (see wire/json-text.ts). Blank
 * lines, a byte order mark and `\r` are handled here; only a line too long is invalid here.
 * Not part of the public API.
 */
export function jsonLineTexts(source: TextSource, options: { file?: string; maxLineLength?: number } = {}): AsyncGenerator<JsonLine[], void, undefined> {
  return readJsonLineBatches(source, checkJsonLinesOptions("jsonLineTexts(): ", { ...options, invalid: "yield" }), false);
}

async function* readJsonLines(source: TextSource, options: ReturnType<typeof checkJsonLinesOptions>, parseLines: boolean): AsyncGenerator<JsonLine, void, undefined> {
  for await (const batch of readJsonLineBatches(source, options, parseLines)) yield* batch;
}

/**
 * The records of a text source, a batch per chunk read (the lines that chunk completed): a reader
 * that takes them a batch at a time (zerolb map) awaits once per chunk instead of once per line. A
 * line that throws (`invalid: "throw"`) comes after the batch of the lines before it.
 */
async function* readJsonLineBatches(
  source: TextSource,
  { file, invalid, maxLineLength, encoding }: ReturnType<typeof checkJsonLinesOptions>,
  parseLines: boolean,
): AsyncGenerator<JsonLine[], void, undefined> {
  if (source === null || typeof source !== "object" || (!(Symbol.asyncIterator in source) && !(Symbol.iterator in source))) {
    invalidOption(`${parseLines ? "jsonLineRecords()" : "jsonLineTexts()"} needs a Readable stream or an (async) iterable of text or byte chunks; received ${describe(source)}`);
  }
  const decoder = new StringDecoder(encoding);
  let carry = "";
  let lineNo = 0;
  let first = true;
  let tooLong = false; // the current line went past maxLineLength: its text is dropped

  const parse = (text: string): JsonLine | undefined => {
    lineNo++;
    if (first) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (tooLong) {
      tooLong = false;
      return fail(`line is longer than ${maxLineLength} characters`, undefined);
    }
    if (text.length > 0 && text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
    if (isBlank(text)) return undefined;
    if (!parseLines) return { ok: true, value: new JsonText(text), line: lineNo, file };
    try {
      return { ok: true, value: JSON.parse(text), line: lineNo, file };
    } catch (err) {
      return fail(`not valid JSON: ${(err as Error).message}`, err);
    }
  };
  const fail = (why: string, cause: unknown): JsonLine | undefined => {
    const error = new JsonLinesError(`${file ?? "input"}:${lineNo}: ${why}`, { file, line: lineNo, cause });
    if (invalid === "throw") throw error;
    if (invalid === "skip") return undefined;
    return { ok: false, error, line: lineNo, file };
  };

  for await (const chunk of source as AsyncIterable<string | Uint8Array>) {
    let text: string;
    if (typeof chunk === "string") text = chunk;
    else if (chunk instanceof Uint8Array) text = decoder.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    else throw new TypeError(`jsonLineRecords() reads text or bytes; received a chunk of type ${typeof chunk}`);
    let start = 0;
    const batch: JsonLine[] = [];
    let thrown: { error: unknown } | undefined;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl === -1) break;
      const line = carry === "" ? text.slice(start, nl) : carry + text.slice(start, nl);
      carry = "";
      start = nl + 1;
      if (!tooLong && line.length > maxLineLength) tooLong = true;
      try {
        const record = parse(line);
        if (record) batch.push(record);
      } catch (error) {
        thrown = { error };
        break;
      }
    }
    if (batch.length > 0) yield batch;
    if (thrown) throw thrown.error;
    if (!tooLong) {
      carry = start === 0 ? carry + text : carry + text.slice(start);
      if (carry.length > maxLineLength) {
        tooLong = true;
        carry = "";
      }
    }
  }
  const rest = carry + decoder.end();
  if (rest.length > 0 || tooLong) {
    const record = parse(tooLong ? "" : rest);
    if (record) yield [record];
  }
}

function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10 && c !== 0xfeff) return false;
  }
  return true;
}

/**
 * Counts the non-blank lines of a byte or text stream without parsing them: the number of records
 * {@link parseJsonLines} would read. For progress totals.
 */
export async function countJsonLines(source: TextSource): Promise<number> {
  let count = 0;
  let content = false; // the current line has a non-blank character
  for await (const chunk of source as AsyncIterable<string | Uint8Array>) {
    if (typeof chunk === "string") {
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk.charCodeAt(i);
        if (c === 10) {
          if (content) count++;
          content = false;
        } else if (!content && c !== 32 && c !== 9 && c !== 13 && c !== 0xfeff) content = true;
      }
    } else {
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i]!;
        if (c === 10) {
          if (content) count++;
          content = false;
        } else if (!content && c !== 32 && c !== 9 && c !== 13 && c !== 0xef && c !== 0xbb && c !== 0xbf) content = true;
      }
    }
  }
  if (content) count++;
  return count;
}
