// The checkers every public call uses for its options: one place that decides what "invalid"
// means and how it is said. Each throws an InvalidOptionError (a TypeError, code
// ERR_ZEROLB_INVALID_OPTION) that names the option, what it must be and the value received; an
// unknown name is refused with the nearest valid one, as undici does, since a misspelled option
// that is silently ignored changes what a call does without a word (`{ afer: [...] }` turned a
// pipeline job into a root).
import { InvalidOptionError } from "./errors.js";

/**
 * The longest delay Node's timers keep: a longer one fires at once (with a TimeoutOverflowWarning),
 * so a millisecond option above it would mean "now" instead of "much later".
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** Options as a checker sees them: any object's own properties. */
export type OptionBag = Record<string, unknown>;

/** Throws the one error class of invalid options. */
export function fail(message: string): never {
  throw new InvalidOptionError(message);
}

/**
 * A value in a message: strings quoted, numbers as written, objects by kind (never their
 * contents: an option may hold a secret).
 */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  if (typeof value === "symbol") return "a symbol";
  if (typeof value === "object" && value !== null) {
    if (Array.isArray(value)) return "an array";
    let name: unknown;
    try {
      name = Object.getPrototypeOf(value)?.constructor?.name;
    } catch {
      // a Proxy whose getPrototypeOf trap throws
    }
    return typeof name === "string" && name !== "" && name !== "Object" ? `a ${name}` : "an object";
  }
  return String(value);
}

/**
 * The options argument of a call: `undefined` means none; anything but a non-array object is
 * refused. `where` prefixes every message of that call, e.g. `"map(): "`.
 */
export function optionsObject(where: string, value: unknown): OptionBag {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(`${where}options must be an object; received ${describe(value)}`);
  return value as OptionBag;
}

/**
 * Refuses any own enumerable name of `options` not in `known`, naming the nearest valid one (an
 * entry of `hints` for a name other libraries use, else the closest by edit distance), or else
 * listing the valid names. `path` prefixes names in the message (`"curve."` for a nested object).
 */
export function knownNames(where: string, options: OptionBag, known: readonly string[], hints: Readonly<Record<string, string>> = {}, path = ""): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const nearest = Object.hasOwn(hints, name) ? hints[name] : nearestName(name, known);
    // A hint is a valid name, or a phrase such as `ordered: false` shown as it is.
    const shown = nearest === undefined ? undefined : known.includes(nearest) ? `"${path}${nearest}"` : nearest;
    const suffix = shown !== undefined ? ` (did you mean ${shown}?)` : ` (valid options: ${known.map((k) => path + k).join(", ")})`;
    fail(`${where}unknown option "${path}${name}"${suffix}`);
  }
}

/**
 * The name in `known` closest to `name` (case ignored), if one is close enough to be a slip:
 * an edit distance (insertions, deletions, substitutions, swaps of neighbours) of at most one
 * per four characters, and at least one.
 */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  return bestDistance <= Math.max(1, Math.floor(Math.max(name.length, best.length) / 4)) ? best : undefined;
}

/** Optimal string alignment distance: Levenshtein plus the swap of two neighbouring characters. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1]!;
}

/** An integer in [min, max]; `fallback` when absent (undefined). */
export function integer(where: string, options: OptionBag, name: string, range: { min: number; max?: number }, fallback: number): number;
export function integer(where: string, options: OptionBag, name: string, range: { min: number; max?: number }): number | undefined;
export function integer(where: string, options: OptionBag, name: string, { min, max = Number.MAX_SAFE_INTEGER }: { min: number; max?: number }, fallback?: number): number | undefined {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(`${where}options.${name} must be an integer >= ${min}${max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ""}; received ${describe(value)}`);
  }
  return value;
}

/**
 * A duration in ms that a timer will wait: a whole number from `min` to MAX_TIMER_MS (Node clamps
 * longer timers to 1 ms). With `fraction`, any finite number above `min` (rounded up), as per-task
 * timeouts are.
 */
export function milliseconds(where: string, options: OptionBag, name: string, min: number, fallback: number, fraction?: boolean): number;
export function milliseconds(where: string, options: OptionBag, name: string, min: number, fallback?: undefined, fraction?: boolean): number | undefined;
export function milliseconds(where: string, options: OptionBag, name: string, min: number, fallback?: number, fraction = false): number | undefined {
  const value = options[name];
  if (value === undefined) return fallback;
  const ok = typeof value === "number" && Number.isFinite(value) && (fraction ? value > min : Number.isInteger(value) && value >= min) && Math.ceil(value) <= MAX_TIMER_MS;
  if (!ok) {
    const what = fraction ? `a number of ms > ${min}` : `a whole number of ms >= ${min}`;
    fail(`${where}options.${name} must be ${what} and at most ${MAX_TIMER_MS} (about 24.8 days, the longest a timer waits); received ${describe(value)}`);
  }
  return Math.ceil(value as number);
}

/** A boolean; `fallback` when absent. Truthy strings such as "no" are refused, not guessed at. */
export function boolean(where: string, options: OptionBag, name: string, fallback: boolean): boolean {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") fail(`${where}options.${name} must be true or false; received ${describe(value)}`);
  return value;
}

/** A non-empty string, or undefined when absent. */
export function nonEmptyString(where: string, options: OptionBag, name: string): string | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") fail(`${where}options.${name} must be a non-empty string; received ${describe(value)}`);
  return value;
}

/** An array of strings (a copy), or undefined when absent. */
export function stringArray(where: string, options: OptionBag, name: string, what: string): string[] | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) fail(`${where}options.${name} must be an array of ${what}; received ${describe(value)}`);
  const copy = [...(value as unknown[])];
  const bad = copy.find((item) => typeof item !== "string");
  if (copy.some((item) => typeof item !== "string")) fail(`${where}options.${name} must be an array of ${what}; it holds ${describe(bad)}`);
  return copy as string[];
}

/** A function, or undefined when absent. */
export function callback<F extends (...args: never[]) => unknown>(where: string, options: OptionBag, name: string): F | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== "function") fail(`${where}options.${name} must be a function; received ${describe(value)}`);
  return value as F;
}

/**
 * An AbortSignal, or undefined when absent. Anything else is refused here, where the mistake is,
 * rather than failing later inside the call (`signal: {}` used to end in "throwIfAborted is not a
 * function").
 */
export function abortSignal(where: string, options: OptionBag, name: string): AbortSignal | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (!isAbortSignal(value)) {
    fail(`${where}options.${name} must be an AbortSignal (e.g. new AbortController().signal or AbortSignal.timeout(ms)); received ${describe(value)}`);
  }
  return value;
}

/** Node's AbortSignal, or one from another realm or library that has everything zerolb calls. */
function isAbortSignal(value: unknown): value is AbortSignal {
  if (value instanceof AbortSignal) return true;
  if (typeof value !== "object" || value === null) return false;
  const s = value as Partial<AbortSignal>;
  return typeof s.aborted === "boolean" && typeof s.addEventListener === "function" && typeof s.removeEventListener === "function" && typeof s.throwIfAborted === "function";
}
