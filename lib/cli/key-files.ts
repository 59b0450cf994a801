// Curve keys on the command line: JSON key files as `zerolb keygen` writes them, and public keys
// given as 40 Z85 characters or as such a file. Shared by `zerolb worker` (its own pair and the
// broker's public key) and `zerolb map --endpoint` (the broker's pair and the allowed workers).
// Messages never show a secret key.
import { existsSync, readFileSync, statSync } from "node:fs";
import { curvePublicKeyOf, isCurveKey } from "../wire/z85.js";
import { UsageError } from "./common.js";

/** Reads `{ publicKey, secretKey }` from a JSON key file; `flag` names it in messages. */
export function readKeyFile(path: string, flag: string): { publicKey?: unknown; secretKey?: unknown } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const data = JSON.parse(text) as unknown;
    if (typeof data === "object" && data !== null) return data as { publicKey?: unknown; secretKey?: unknown };
  } catch {
    // below
  }
  throw new UsageError(`${flag} ${path} is not a JSON key file like those of \`zerolb keygen\` ({ "publicKey": ..., "secretKey": ... })`);
}

/** A checked key pair from a key file; warns when other users can read it. */
export function readKeyPair(path: string, flag: string, warn: (line: string) => void): { publicKey: string; secretKey: string } {
  const pair = readKeyFile(path, flag);
  if (!isCurveKey(pair.publicKey)) throw new UsageError(`${flag} ${path} has no 40-character Z85 "publicKey"`);
  if (!isCurveKey(pair.secretKey)) throw new UsageError(`${flag} ${path} has no valid "secretKey" (40 Z85 characters)`);
  if (curvePublicKeyOf(pair.secretKey) !== pair.publicKey) throw new UsageError(`${flag} ${path}: its publicKey does not belong to its secretKey`);
  try {
    if ((statSync(path).mode & 0o077) !== 0) warn(`${flag} ${path} can be read by other users; \`chmod 600 ${path}\``);
  } catch {
    // read above; a race is not worth failing for
  }
  return { publicKey: pair.publicKey, secretKey: pair.secretKey };
}

/** A public key given as 40 Z85 characters, or as a JSON key file holding it as publicKey. */
export function readPublicKey(value: string, flag: string, hint: string): string {
  if (isCurveKey(value)) return value;
  if (!existsSync(value)) throw new UsageError(`${flag} must be 40 Z85 characters (${hint}) or a JSON key file holding it; received ${JSON.stringify(value)}`);
  const key = readKeyFile(value, `${flag} file`).publicKey;
  if (!isCurveKey(key)) throw new UsageError(`${flag} file ${value} has no 40-character Z85 "publicKey"`);
  return key;
}
