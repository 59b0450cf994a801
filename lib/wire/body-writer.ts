// Builds a message body: encoded values appended back to back, their lengths kept for the header.
// Each `take()` hands the bytes over for good and starts a new buffer, because zeromq.js sends
// large buffers without copying them: bytes already handed to a send must never be rewritten.
//
// A writer made `chunked` (the caller's Submit, whose broker reads bodies of several frames: see
// body-parts.ts) never copies what it holds to grow: a large value gets a buffer of its own, and a
// full buffer is sealed as one frame of the body while the next values go into a new one.

/** A value of this many bytes or more goes into a buffer of its own in a chunked writer. */
export const LARGE_VALUE = 16 * 1024;
/** A chunked writer's buffer grows (by a copy) up to this size, then is sealed as a frame. */
const MAX_CHUNK = 256 * 1024;

export class BodyWriter {
  #buffer: Buffer;
  #used = 0;
  readonly #chunked: boolean;
  /** Chunked: the full buffers of the body so far (frames), and their bytes. */
  #sealed: Uint8Array[] = [];
  #sealedBytes = 0;
  /** Chunked: the buffer holds one large value and nothing may follow it there. */
  #sealNext = false;
  /**
   * Lengths of the values appended, in a list kept for the writer's life (only `#count` entries are
   * current): a list made afresh per body would be alive, and copied by the young-generation GC,
   * whenever a collection ran while a body was being filled.
   */
  readonly #lengths: number[] = [];
  #count = 0;
  readonly #initialSize: number;

  constructor(initialSize = 4096, { chunked = false } = {}) {
    this.#initialSize = initialSize;
    this.#chunked = chunked;
    this.#buffer = Buffer.allocUnsafe(initialSize);
  }

  get count(): number {
    return this.#count;
  }

  /** Bytes appended since the last take(). */
  get byteLength(): number {
    return this.#sealedBytes + this.#used;
  }

  /** Copies `bytes` in (they may be a scratch view that is about to be reused). */
  append(bytes: Uint8Array): void {
    this.appendHead(bytes, bytes.length);
  }

  /** Copies the first `length` bytes of `bytes` in (a scratch buffer about to be reused). */
  appendHead(bytes: Uint8Array, length: number): void {
    const start = this.#reserve(length);
    const buffer = this.#buffer;
    // A short value is copied by hand: cheaper than the view that set() would need.
    if (length <= 64) for (let i = 0; i < length; i++) buffer[start + i] = bytes[i]!;
    else buffer.set(length === bytes.length ? bytes : bytes.subarray(0, length), start);
    this.#lengths[this.#count++] = length;
  }

  /** Appends `bytes` as a MessagePack bin value (bin 8/16/32 by its size, as encoders write it). */
  appendBinary(bytes: Uint8Array): void {
    const at = this.#beginSized(0xc4, bytes.length, 0);
    const buffer = this.#buffer;
    if (bytes.length <= 64) for (let i = 0; i < bytes.length; i++) buffer[at + i] = bytes[i]!;
    else buffer.set(bytes, at);
  }

  /**
   * Appends a MessagePack extension value of `type` whose payload is the byte `kind` then `text`
   * in UTF-8, written straight into the body (ext 8/16/32 by the payload's size).
   */
  appendTextExtension(type: number, kind: number, text: string): void {
    const at = this.#beginSized(0xc7, 1 + Buffer.byteLength(text, "utf8"), 1);
    this.#buffer[at - 1] = type;
    this.#buffer[at] = kind;
    this.#buffer.write(text, at + 1, "utf8");
  }

  /**
   * Makes room for a MessagePack value of `size` payload bytes whose header is `code8` (or the
   * next two codes: the 16- and 32-bit size forms, as bin and ext have them), the size, then
   * `extra` bytes for the caller to fill (an extension's type); writes the code and size, counts
   * the value, and returns where its payload starts.
   */
  #beginSized(code8: number, size: number, extra: number): number {
    const sizeBytes = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
    const total = 1 + sizeBytes + extra + size;
    const start = this.#reserve(total);
    const payload = start + 1 + sizeBytes + extra;
    const buffer = this.#buffer;
    if (sizeBytes === 1) {
      buffer[start] = code8;
      buffer[start + 1] = size;
    } else if (sizeBytes === 2) {
      buffer[start] = code8 + 1;
      buffer.writeUInt16BE(size, start + 1);
    } else {
      buffer[start] = code8 + 2;
      buffer.writeUInt32BE(size, start + 1);
    }
    this.#lengths[this.#count++] = total;
    return payload;
  }

  /** Room for `size` more bytes in the current buffer (growing it, or in a chunked writer sealing it); returns where they start. */
  #reserve(size: number): number {
    let start = this.#used;
    if (this.#chunked && start > 0 && (this.#sealNext || size >= LARGE_VALUE || start + size > MAX_CHUNK)) {
      this.#seal(size);
      start = 0;
    } else if (start + size > this.#buffer.length) {
      this.#grow(start + size);
    }
    // A large value fills a buffer of its own, sized for it: nothing is written after it there.
    this.#sealNext = this.#chunked && size >= LARGE_VALUE;
    this.#used = start + size;
    return start;
  }

  /** Chunked: the current buffer becomes a frame of the body; a new one has room for `size` bytes. */
  #seal(size: number): void {
    this.#sealed.push(this.#buffer.subarray(0, this.#used));
    this.#sealedBytes += this.#used;
    this.#buffer = Buffer.allocUnsafe(size >= LARGE_VALUE ? size : Math.max(this.#initialSize, size));
    this.#used = 0;
  }

  /** Returns the body and its lengths, and starts afresh (a writer that is not chunked). */
  take(): { body: Buffer; lengths: number[] } {
    if (this.#chunked) throw new Error("a chunked BodyWriter's body is taken with takeFrames()");
    const body = this.#buffer.subarray(0, this.#used);
    const lengths = this.#lengths.slice(0, this.#count);
    this.#count = 0;
    const next = Math.max(this.#initialSize, Math.min(this.#used, 1 << 20));
    this.#buffer = Buffer.allocUnsafe(next);
    this.#used = 0;
    return { body, lengths };
  }

  /** Returns the body as its frames (one for a small body; none for an empty one) and the values' lengths, and starts afresh. */
  takeFrames(): { frames: Uint8Array[]; lengths: number[] } {
    const frames = this.#sealed;
    const last = this.#used;
    if (last > 0) frames.push(this.#buffer.subarray(0, last));
    const lengths = this.#lengths.slice(0, this.#count);
    this.#count = 0;
    this.#sealed = [];
    this.#sealedBytes = 0;
    this.#sealNext = false;
    this.#buffer = Buffer.allocUnsafe(Math.max(this.#initialSize, Math.min(last, MAX_CHUNK)));
    this.#used = 0;
    return { frames, lengths };
  }

  #grow(atLeast: number): void {
    const next = Buffer.allocUnsafe(Math.max(atLeast, this.#buffer.length * 2));
    this.#buffer.copy(next, 0, 0, this.#used);
    this.#buffer = next;
  }
}
