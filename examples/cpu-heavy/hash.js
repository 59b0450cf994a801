// CPU-bound work: iterate SHA-256 over a buffer many times (a stand-in for resizing images,
// parsing, compressing, …). The same function runs in-process and in the workers.
import { createHash } from "node:crypto";

export const ROUNDS = 4000;

export default function stretch(bytes) {
  let digest = bytes;
  for (let i = 0; i < ROUNDS; i++) digest = createHash("sha256").update(digest).digest();
  return digest; // a Buffer: travels back as bytes (Uint8Array)
}
