// Reading the values of a batch body (a Tasks or Results message): one decoder pointed at the whole
// body reads value after value, instead of a view and a decoder set-up per value.
import { Decoder } from "@msgpack/msgpack";
import { ValueSpans, type BodyParts } from "./body-parts.js";
import { decodeValue, encodeValue, valueExtensions } from "./codec.js";

const batchDecoder = new Decoder({ useBigInt64: true, extensionCodec: valueExtensions });
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
    const first = encodeValue({ n: 1 });
    const body = new Uint8Array([...first, ...encodeValue([2, "two"])]);
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
  readonly #spans: ValueSpans;
  /** The frame the batch decoder points at, while this reader owns it. */
  #frame: Uint8Array | undefined;

  /** The values of `body` (one buffer, or the frames of a body in several: see body-parts.ts). Throws a ProtocolError when a value straddles two frames. */
  constructor(body: Uint8Array | BodyParts, offsets: Uint32Array) {
    this.#spans = new ValueSpans(body, offsets);
  }

  /** Value i, in any order. Throws if its bytes are not one MessagePack value. */
  read(i: number): unknown {
    const spans = this.#spans;
    const frame = spans.frame(i);
    const start = spans.start(i);
    const end = spans.end(i);
    if (decodesInPlace && end > start) {
      try {
        if (batchOwner !== this || this.#frame !== frame) {
          batch.reinitializeState();
          batch.setBuffer(frame);
          batchOwner = this;
          this.#frame = frame;
        }
        batch.pos = start;
        const value = batch.doDecodeSync();
        if (batch.pos === end) return value;
      } catch {
        // decoded again alone below, for its own error
      }
      batchOwner = undefined; // its state is unknown now: set it up afresh next time
    }
    return decodeValue(frame.subarray(start, end));
  }

  /** Lets go of the body (the shared decoder no longer points at it). */
  close(): void {
    this.#frame = undefined;
    if (batchOwner === this) {
      batchOwner = undefined;
      batch.setBuffer(EMPTY_BODY);
    }
  }
}

const EMPTY_BODY = new Uint8Array(0);
