// MessagePack for user values (task inputs, results, workerData), with one rule: a value arrives
// as it was sent, or its task fails with an error that says what and where; it never changes
// silently. MessagePack's own types (plain objects, arrays, strings, numbers, booleans, null,
// bigint in 64 bits, Uint8Array/Buffer, Date) go as they are. zerolb's extension type 0 carries
// what MessagePack has no type for but can round-trip cheaply and exactly: the other typed arrays,
// DataView, ArrayBuffer, and Error (as an error value, rebuilt on arrival). Everything else (a
// function, a symbol, a Map or Set, a class instance, a circular structure, a bigint past 64 bits)
// is refused: the encoder throws, and only then is the value walked to name the problem and its
// path (`result.items[3].when`), so plain data pays no pre-scan.
import { endianness } from "node:os";
import { DecodeError, Decoder, Encoder, ExtensionCodec } from "@msgpack/msgpack";
import type { BodyWriter } from "./body-writer.js";
import { deserializeError, isError, serializeError } from "./error-wire.js";
import { JsonLinesError, UnsupportedValueError } from "../shared/errors.js";
import { JSON_TEXT_KIND, JsonText } from "./json-text.js";

/** zerolb's MessagePack extension type; the payload's first byte says what follows. */
export const VALUE_EXTENSION = 0;
/** Payload kinds 1..11: typed arrays and DataView, their bytes (little-endian) after the kind byte. */
const VIEW_KINDS = [
  "", "Int8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array",
  "BigInt64Array", "BigUint64Array", "DataView",
] as const;
/** Payload kind 12: an ArrayBuffer's bytes. */
const ARRAY_BUFFER = 12;
/** Payload kind 0x45 ("E"): an Error, as the error value MessagePack map of docs/protocol.md. */
const ERROR = 0x45;
// Payload kind 0x4A ("J"): a JsonText, the UTF-8 text of a JSON value, parsed on arrival (./json-text.ts).
const LITTLE_ENDIAN = endianness() === "LE";

type ViewConstructor = new (buffer: ArrayBuffer) => ArrayBufferView;
const VIEW_CONSTRUCTORS = VIEW_KINDS.map((name) => (name === "" ? undefined : (globalThis as unknown as Record<string, ViewConstructor>)[name]));
const VIEW_KIND_OF = new Map<string, number>(VIEW_KINDS.map((name, i) => [name, i]));

/** What MessagePack (with zerolb's extension) carries, for messages. */
const CARRIES = "values travel as plain objects, arrays, strings, numbers, booleans, null, bigint (64-bit), Uint8Array/Buffer and other typed arrays, Date and Error";

// Errors inside an Error payload are already plain data (serializeError): a codec of its own,
// also because the value encoder is busy with the outer value while an extension is encoded.
const errorEncoder = new Encoder({ useBigInt64: true });
const errorDecoder = new Decoder({ useBigInt64: true });

const codec = new ExtensionCodec();
codec.register({ type: VALUE_EXTENSION, encode: encodeExtension, decode: decodeExtension });

/**
 * Called by the encoder for every object, array and other non-primitive (Dates are taken by the
 * library's timestamp extension first): null lets the library encode it, a payload makes it an
 * extension value, a throw refuses it. Plain objects and arrays return at the first test.
 */
function encodeExtension(value: unknown): Uint8Array | null {
  if (Array.isArray(value)) return null;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return null;
  if (value instanceof Uint8Array) return null; // bin; Buffer arrives as Uint8Array
  if (ArrayBuffer.isView(value)) return viewPayload(value);
  if (value instanceof ArrayBuffer) return withKind(ARRAY_BUFFER, new Uint8Array(value), 1);
  if (isError(value)) return withKind(ERROR, errorEncoder.encode(serializeError(value)), 1);
  if (value instanceof JsonText) return withKind(JSON_TEXT_KIND, Buffer.from(value.text, "utf8"), 1);
  // A plain object made in another realm (vm, a worker thread's message): its prototype is that
  // realm's Object.prototype.
  if (proto !== null && typeof proto === "object" && Object.getPrototypeOf(proto) === null && Object.prototype.toString.call(value) === "[object Object]") return null;
  throw new UnsupportedValueError(reasonFor(value), "");
}

function viewPayload(view: ArrayBufferView): Uint8Array {
  const name = (view as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] ?? (view instanceof DataView ? "DataView" : "");
  const kind = VIEW_KIND_OF.get(name);
  if (kind === undefined || kind === 0) throw new UnsupportedValueError(`a ${name || "typed array"} cannot be sent: ${CARRIES}`, "");
  const size = name === "DataView" ? 1 : (view as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  return withKind(kind, new Uint8Array(view.buffer, view.byteOffset, view.byteLength), size);
}

/** The kind byte, then the bytes (each element's made little-endian on a big-endian machine). */
function withKind(kind: number, bytes: Uint8Array, elementSize: number): Uint8Array {
  const out = new Uint8Array(1 + bytes.byteLength);
  out[0] = kind;
  out.set(bytes, 1);
  if (!LITTLE_ENDIAN && elementSize > 1) swapElements(out.subarray(1), elementSize);
  return out;
}

function decodeExtension(data: Uint8Array): unknown {
  const kind = data[0];
  if (kind === JSON_TEXT_KIND) return parseJsonText(data);
  // A fresh, aligned buffer of exactly these bytes (Uint8Array's slice: data may be a Buffer,
  // whose slice() is a view, not a copy).
  const bytes = Uint8Array.prototype.slice.call(data, 1);
  if (kind === ERROR) return deserializeError(errorDecoder.decode(bytes));
  if (kind === ARRAY_BUFFER) return bytes.buffer;
  const View = kind === undefined ? undefined : VIEW_CONSTRUCTORS[kind];
  if (View === undefined) throw new DecodeError(`unknown zerolb value kind ${String(kind)} in extension type ${VALUE_EXTENSION}`);
  const size = View === DataView ? 1 : (View as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  if (bytes.byteLength % size !== 0) throw new DecodeError(`a ${VIEW_KINDS[kind!]} of ${bytes.byteLength} bytes is not whole elements of ${size}`);
  if (!LITTLE_ENDIAN && size > 1) swapElements(bytes, size);
  return new View(bytes.buffer);
}

/** A JsonText's value: its UTF-8 bytes (after the kind byte) decoded and parsed, without a copy. */
function parseJsonText(data: Uint8Array): unknown {
  const text = Buffer.from(data.buffer, data.byteOffset + 1, data.byteLength - 1).toString("utf8");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new JsonLinesError(`not valid JSON: ${(err as Error).message}`, { file: undefined, line: 0, cause: err });
  }
}

function swapElements(bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

/** Why a non-plain value cannot be sent (the path is added by the caller of the encoder). */
function reasonFor(value: unknown): string {
  if (typeof value === "function") return `a function${value.name ? ` (${value.name})` : ""} cannot be sent: ${CARRIES}`;
  if (typeof value === "symbol") return `a symbol cannot be sent: ${CARRIES}`;
  if (value instanceof Map) return "a Map cannot be sent: MessagePack has no Map (send Object.fromEntries(map), or [...map] for keys that are not strings)";
  if (value instanceof Set) return "a Set cannot be sent: MessagePack has no Set (send [...set])";
  if (value instanceof WeakMap || value instanceof WeakSet || value instanceof WeakRef) return `a ${constructorName(value) || "weak reference"} cannot be sent: ${CARRIES}`;
  if (value instanceof Promise) return "a Promise cannot be sent (await it first: return its value)";
  if (typeof SharedArrayBuffer === "function" && value instanceof SharedArrayBuffer) return "a SharedArrayBuffer cannot be sent: processes share no memory (send a copy, new Uint8Array(buffer).slice())";
  const name = constructorName(value);
  if (["String", "Number", "Boolean", "BigInt", "Symbol"].includes(name)) return `a boxed ${name} (new ${name}(…)) cannot be sent: send the primitive value`;
  const what = name === ANONYMOUS ? "an object with a custom prototype" : `a${/^([AEIO]|U[a-z])/.test(name) ? "n" : ""} ${name} instance`;
  return `${what} cannot be sent: only plain objects travel, and its class would be lost (send a plain object, e.g. { ...value }, or what its toJSON() returns)`;
}

const ANONYMOUS = "";

/** The name of the value's class, or "" when it has none to tell (an anonymous class, a Proxy). */
function constructorName(value: unknown): string {
  try {
    // The prototype's own constructor: Object.create({}) inherits Object's, which says nothing.
    const proto = Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null;
    const name = proto && Object.hasOwn(proto, "constructor") ? proto.constructor?.name : undefined;
    return typeof name === "string" ? name : ANONYMOUS;
  } catch {
    return ANONYMOUS;
  }
}

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * The value encoder. @msgpack/msgpack 3.1 writes a bigint outside 64 bits wrapped around, silently
 * (no option says otherwise, and bigints never reach an extension codec): its encodeBigInt64 is
 * wrapped here to refuse them. That method is the library's own, not its public API, so the
 * version is pinned (~3.1) and checked when this module loads: if the wrap does not hold, zerolb
 * says so at once rather than send wrong numbers.
 */
function makeEncoder(): Encoder {
  const encoder = new Encoder({ useBigInt64: true, extensionCodec: codec, ignoreUndefined: false });
  const target = encoder as unknown as { encodeBigInt64?: (value: bigint) => void };
  const encodeBigInt64 = target.encodeBigInt64;
  if (typeof encodeBigInt64 === "function") {
    target.encodeBigInt64 = (value: bigint) => {
      if (value < INT64_MIN || value > UINT64_MAX) throw new RangeError(`bigint ${value} does not fit in 64 bits`);
      encodeBigInt64.call(encoder, value);
    };
  }
  let refused = false;
  try {
    encoder.encode(2n ** 64n);
  } catch {
    refused = true;
  }
  if (!refused) {
    throw new Error("zerolb cannot check bigints with this version of @msgpack/msgpack (a bigint past 64 bits would be sent wrapped around): install the version zerolb's package.json names (~3.1)");
  }
  return encoder;
}

const encoder = makeEncoder();
const decoder = new Decoder({ useBigInt64: true, extensionCodec: codec });

/**
 * Encodes a user value into a fresh buffer (safe to hand to a zero-copy send). Throws an
 * UnsupportedValueError naming what cannot be sent and where, from `root` (e.g. `result.items[3]`).
 */
export function encodeValue(value: unknown, root = "value"): Uint8Array {
  try {
    return encoder.encode(value);
  } catch (err) {
    throw explain(value, root, err);
  }
}

/** The library's Encoder below its public API: encodeSharedRef() without the view it returns. */
interface EncoderInternals {
  reinitializeState(): void;
  doEncode(value: unknown, depth: number): void;
  bytes: Uint8Array;
  pos: number;
}
const internals = encoder as unknown as EncoderInternals;
/**
 * Whether the encoder can write a value into its own scratch buffer for us to copy from, without
 * the view encodeSharedRef() makes per value. Those are the library's own methods, not its public
 * API: checked once here, with a value encoded both ways; if they differ, the public path is used.
 */
const encodesInPlace = (() => {
  if (typeof internals.reinitializeState !== "function" || typeof internals.doEncode !== "function") return false;
  try {
    const sample = { a: [1, -2, 3.5, "x", null, true], b: new Uint8Array([1, 2]), c: 2n ** 40n };
    const expected = encoder.encode(sample);
    internals.reinitializeState();
    internals.doEncode(sample, 1);
    const got = internals.bytes.subarray(0, internals.pos);
    return got.length === expected.length && got.every((byte, i) => byte === expected[i]);
  } catch {
    return false;
  }
})();

/**
 * Encodes a user value straight onto the end of `body` (through the encoder's scratch buffer, with
 * no view per value). Throws an UnsupportedValueError as encodeValue does, and then appends nothing.
 */
export function appendValue(body: BodyWriter, value: unknown, root = "value"): void {
  if (value instanceof JsonText) {
    // The text's bytes go straight into the body, under the extension header (no copy on the way).
    body.appendTextExtension(VALUE_EXTENSION, JSON_TEXT_KIND, value.text);
    return;
  }
  try {
    if (!encodesInPlace) {
      body.append(encoder.encodeSharedRef(value));
      return;
    }
    internals.reinitializeState();
    internals.doEncode(value, 1);
  } catch (err) {
    throw explain(value, root, err);
  }
  body.appendHead(internals.bytes, internals.pos);
}

/** Decodes one user value. */
export function decodeValue(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}

const batchDecoder = new Decoder({ useBigInt64: true, extensionCodec: codec });
/** The library's Decoder below its public API: decode one value at a chosen position of a buffer. */
interface DecoderInternals {
  reinitializeState(): void;
  setBuffer(buffer: Uint8Array): void;
  doDecodeSync(): unknown;
  pos: number;
}
const batch = batchDecoder as unknown as DecoderInternals;
/**
 * Whether one decoder can be pointed at a whole body and read a value at a chosen position (the
 * library's own methods, not its public API): checked once here on a body of two values; if it
 * does not read them back, each value is decoded from its own view instead.
 */
const decodesInPlace = (() => {
  if (typeof batch.reinitializeState !== "function" || typeof batch.setBuffer !== "function" || typeof batch.doDecodeSync !== "function") return false;
  try {
    const first = encoder.encode({ n: 1 });
    const body = new Uint8Array([...first, ...encoder.encode([2, "two"])]);
    batch.reinitializeState();
    batch.setBuffer(body);
    batch.pos = first.length;
    const value = batch.doDecodeSync() as unknown[];
    const ok = batch.pos === body.length && Array.isArray(value) && value[0] === 2 && value[1] === "two";
    batch.setBuffer(new Uint8Array(0));
    return ok;
  } catch {
    return false;
  }
})();
/** The reader the batch decoder is pointed at (readers may interleave; each re-points it). */
let batchOwner: ValueReader | undefined;

/**
 * Reads the values of a batch body (value i is bytes [offsets[i], offsets[i+1])) with one decoder
 * pointed at the whole body, instead of a view and a decoder set-up per value. A value that fails
 * to decode there, or does not end exactly at its offset, is decoded again from its own bytes, so a
 * bad value fails alone and with the library's own error.
 */
export class ValueReader {
  readonly #body: Uint8Array;
  readonly #offsets: Uint32Array;

  constructor(body: Uint8Array, offsets: Uint32Array) {
    this.#body = body;
    this.#offsets = offsets;
  }

  /** Value i, in any order. Throws if its bytes are not one MessagePack value. */
  read(i: number): unknown {
    const start = this.#offsets[i]!;
    const end = this.#offsets[i + 1]!;
    if (decodesInPlace && end > start) {
      try {
        if (batchOwner !== this) {
          batch.reinitializeState();
          batch.setBuffer(this.#body);
          batchOwner = this;
        }
        batch.pos = start;
        const value = batch.doDecodeSync();
        if (batch.pos === end) return value;
      } catch {
        // decoded again alone below, for its own error
      }
      batchOwner = undefined; // its state is unknown now: set it up afresh next time
    }
    return decoder.decode(this.#body.subarray(start, end));
  }

  /** Lets go of the body (the shared decoder no longer points at it). */
  close(): void {
    if (batchOwner === this) {
      batchOwner = undefined;
      batch.setBuffer(EMPTY_BODY);
    }
  }
}

const EMPTY_BODY = new Uint8Array(0);

/** The library's limit on nesting (its `maxDepth` default): deeper values fail to encode. */
const MAX_DEPTH = 100;

/**
 * The error for a value that failed to encode: the first problem found walking it in the
 * encoder's order (a refused kind, a cycle, a bigint past 64 bits, a getter that throws, nesting
 * past the library's limit), with its path; else the encoder's own message.
 */
export function explain(value: unknown, root: string, err: unknown): UnsupportedValueError {
  let found: { path: string; reason: string } | undefined;
  try {
    found = findProblem(value, root, 1, []);
  } catch {
    found = undefined;
  }
  if (found) return new UnsupportedValueError(`${found.path}: ${found.reason}`, found.path);
  let message: string;
  try {
    message = err instanceof Error ? err.message : String(err);
  } catch {
    message = "unknown error";
  }
  return new UnsupportedValueError(`${root} cannot be sent: ${message}`, root);
}

function findProblem(value: unknown, path: string, depth: number, ancestors: { value: object; path: string }[]): { path: string; reason: string } | undefined {
  if (depth > MAX_DEPTH) return { path, reason: `nested more than ${MAX_DEPTH} levels deep, which MessagePack (as zerolb uses it) does not carry` };
  if (value === null || value === undefined || typeof value === "boolean" || typeof value === "number" || typeof value === "string") return undefined;
  if (typeof value === "bigint") return value < INT64_MIN || value > UINT64_MAX ? { path, reason: `bigint ${value} does not fit in 64 bits` } : undefined;
  if (value instanceof Date) return undefined;
  try {
    if (encodeExtension(value) !== null) return undefined; // typed array, ArrayBuffer, Error: a leaf
  } catch (err) {
    return { path, reason: err instanceof UnsupportedValueError ? err.message : `it cannot be sent: ${(err as Error)?.message}` };
  }
  const object = value as object;
  const loop = ancestors.find((a) => a.value === object);
  if (loop) return { path, reason: `a circular reference (back to ${loop.path}) cannot be sent: MessagePack carries trees, not graphs` };
  ancestors.push({ value: object, path });
  try {
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) {
        const found = child(object, String(i), `${path}[${i}]`, depth, ancestors);
        if (found) return found;
      }
      return undefined;
    }
    for (const key of Object.keys(object)) {
      const found = child(object, key, `${path}${/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`}`, depth, ancestors);
      if (found) return found;
    }
    return undefined;
  } finally {
    ancestors.pop();
  }
}

function child(object: object, key: string, path: string, depth: number, ancestors: { value: object; path: string }[]) {
  let item: unknown;
  try {
    item = (object as Record<string, unknown>)[key];
  } catch (err) {
    let message: string;
    try {
      message = String((err as Error)?.message ?? err);
    } catch {
      message = "an error";
    }
    return { path, reason: `reading it threw: ${message}` };
  }
  return findProblem(item, path, depth + 1, ancestors);
}
