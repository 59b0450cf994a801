// MessagePack for user values (task inputs, results, workerData). Stricter than the library's
// defaults: values MessagePack would silently change (a Map or Set becoming {}, a bigint past
// 64 bits wrapping) are refused, so the task that carries one fails with a clear error.
import { Decoder, Encoder, ExtensionCodec } from "@msgpack/msgpack";
import type { BodyWriter } from "./body-writer.js";

const strictness = new ExtensionCodec();
strictness.register({
  type: 0x7f,
  encode(value: unknown): Uint8Array | null {
    if (value instanceof Map || value instanceof Set || value instanceof WeakMap || value instanceof Promise) {
      throw new TypeError(`${value.constructor.name} cannot be sent: MessagePack carries plain objects, arrays, strings, numbers, bigint, Uint8Array/Buffer, Date and null`);
    }
    return null;
  },
  decode: () => {
    throw new TypeError("unexpected extension type 0x7f");
  },
});

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

function makeEncoder(): Encoder {
  const encoder = new Encoder({ useBigInt64: true, extensionCodec: strictness, ignoreUndefined: false });
  // The library wraps out-of-range bigints silently; make that an error instead.
  const target = encoder as unknown as { encodeBigInt64(value: bigint): void };
  const encodeBigInt64 = target.encodeBigInt64.bind(encoder);
  target.encodeBigInt64 = (value: bigint) => {
    if (value < INT64_MIN || value > UINT64_MAX) throw new RangeError(`bigint ${value} does not fit in 64 bits`);
    encodeBigInt64(value);
  };
  return encoder;
}

const encoder = makeEncoder();
const decoder = new Decoder({ useBigInt64: true });

/** Encodes a user value into a fresh buffer (safe to hand to a zero-copy send). */
export function encodeValue(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/** The library's Encoder below its public API: encodeSharedRef() without the view it returns. */
interface EncoderInternals {
  reinitializeState(): void;
  doEncode(value: unknown, depth: number): void;
  bytes: Uint8Array;
  pos: number;
}
const internals = encoder as unknown as EncoderInternals;
const encodesInPlace = typeof internals.reinitializeState === "function" && typeof internals.doEncode === "function";

/**
 * Encodes a user value straight onto the end of `body` (through the encoder's scratch buffer, with
 * no view per value). Throws the encoder's error, and then appends nothing.
 */
export function appendValue(body: BodyWriter, value: unknown): void {
  if (!encodesInPlace) {
    body.append(encoder.encodeSharedRef(value));
    return;
  }
  internals.reinitializeState();
  internals.doEncode(value, 1);
  body.appendHead(internals.bytes, internals.pos);
}

/** Decodes one user value. */
export function decodeValue(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}

const batchDecoder = new Decoder({ useBigInt64: true });
const MISALIGNED = Symbol("misaligned");
/** Where the batch decoder stands in its buffer (a field of the library's Decoder; undefined if it ever goes). */
const positionOf = (d: Decoder): unknown => (d as unknown as { pos?: number }).pos;

/**
 * Reads the values of a batch body (value i is bytes [offsets[i], offsets[i+1])) in one pass of
 * one decoder, instead of a view and a decoder set-up per value. Each value must end exactly at
 * its offset; at the first one that does not (or fails to decode), the reader falls back to
 * decoding each remaining value from its own bytes, so a bad value fails alone.
 */
export class ValueReader {
  readonly #body: Uint8Array;
  readonly #offsets: Uint32Array;
  #pass: Generator<unknown, void, unknown> | undefined;
  #next = 0;

  constructor(body: Uint8Array, offsets: Uint32Array) {
    this.#body = body;
    this.#offsets = offsets;
    this.#pass = offsets[offsets.length - 1]! > offsets[0]! ? batchDecoder.decodeMulti(body.subarray(offsets[0], offsets[offsets.length - 1])) : undefined;
  }

  /** Value i; fastest with i = 0, 1, 2, ... in order (skipping is fine). Throws if its bytes are not one MessagePack value. */
  read(i: number): unknown {
    if (i < this.#next) this.#stopPass();
    while (this.#pass && this.#next < i) this.#fromPass(this.#next);
    if (this.#pass) {
      const value = this.#fromPass(i);
      if (value !== MISALIGNED) return value;
    }
    return decoder.decode(this.#body.subarray(this.#offsets[i], this.#offsets[i + 1]));
  }

  /** Ends the pass (the shared decoder is free again); read() still works, value by value. */
  close(): void {
    this.#stopPass();
  }

  /** Value i from the one-pass decoder, or MISALIGNED (and the pass ends) if it does not end at its offset. */
  #fromPass(i: number): unknown {
    this.#next = i + 1;
    let value: unknown = MISALIGNED;
    try {
      const r = this.#pass!.next();
      if (!r.done && positionOf(batchDecoder) === this.#offsets[i + 1]! - this.#offsets[0]!) value = r.value;
    } catch {
      // decoded again alone by read(), for its own error
    }
    if (value === MISALIGNED || i + 2 === this.#offsets.length) this.#stopPass();
    return value;
  }

  #stopPass(): void {
    this.#pass?.return();
    this.#pass = undefined;
  }
}
