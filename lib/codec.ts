// MessagePack for user values (task inputs, results, workerData). Stricter than the library's
// defaults: values MessagePack would silently change (a Map or Set becoming {}, a bigint past
// 64 bits wrapping) are refused, so the task that carries one fails with a clear error.
import { Decoder, Encoder, ExtensionCodec } from "@msgpack/msgpack";

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

/**
 * Encodes a user value into the encoder's scratch buffer. The view is only valid until the next
 * call: copy it at once (the caller's batch builder does).
 */
export function encodeValueShared(value: unknown): Uint8Array {
  return encoder.encodeSharedRef(value);
}

/** Decodes one user value. */
export function decodeValue(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}
