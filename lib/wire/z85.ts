// Z85 (ZeroMQ RFC 32), the text form of CurveZMQ keys: 4 bytes become 5 characters. zeromq.js
// exports no helper; the ZAP handler needs it to compare a client's binary key with the allow-list.
import { createPrivateKey, createPublicKey } from "node:crypto";

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Encodes bytes (length a multiple of 4) as Z85 text. */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new RangeError("Z85 encodes a multiple of 4 bytes");
  let out = "";
  for (let i = 0; i < bytes.length; i += 4) {
    let value = ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0;
    const chunk = new Array<string>(5);
    for (let j = 4; j >= 0; j--) {
      chunk[j] = ALPHABET[value % 85]!;
      value = Math.floor(value / 85);
    }
    out += chunk.join("");
  }
  return out;
}

/** Decodes Z85 text (length a multiple of 5); undefined when it is not valid Z85. */
export function z85Decode(text: string): Uint8Array | undefined {
  if (text.length % 5 !== 0) return undefined;
  const out = new Uint8Array((text.length / 5) * 4);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const code = text.charCodeAt(i + j);
      const digit = code < 128 ? DECODE[code]! : -1;
      if (digit < 0) return undefined;
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) return undefined;
    out[o] = value >>> 24;
    out[o + 1] = (value >>> 16) & 0xff;
    out[o + 2] = (value >>> 8) & 0xff;
    out[o + 3] = value & 0xff;
  }
  return out;
}

/** Whether `text` is a CurveZMQ key: 40 Z85 characters encoding 32 bytes. */
export function isCurveKey(text: unknown): text is string {
  return typeof text === "string" && text.length === 40 && z85Decode(text) !== undefined;
}

// PKCS#8 DER prefix of a raw X25519 private key (RFC 8410). CurveZMQ keys are X25519 keys.
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/**
 * The public key (Z85) that belongs to a secret key (Z85), so a mismatched pair is caught when
 * options are checked instead of as a silent handshake failure. Undefined if it is not a key.
 */
export function curvePublicKeyOf(secretKey: string): string | undefined {
  const raw = isCurveKey(secretKey) ? z85Decode(secretKey) : undefined;
  if (!raw) return undefined;
  try {
    const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
    const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
    return z85Encode(spki.subarray(spki.length - 32));
  } catch {
    return undefined;
  }
}
