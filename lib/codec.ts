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
/** The library's Decoder below its public API: decode one value at a chosen position of a buffer. */
interface DecoderInternals {
  reinitializeState(): void;
  setBuffer(buffer: Uint8Array): void;
  doDecodeSync(): unknown;
  pos: number;
}
const batch = batchDecoder as unknown as DecoderInternals;
const decodesInPlace = typeof batch.reinitializeState === "function" && typeof batch.setBuffer === "function" && typeof batch.doDecodeSync === "function";
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
