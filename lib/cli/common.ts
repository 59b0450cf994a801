// What the commands of the zerolb CLI share: exit codes, usage errors, option parsers.
import { ZerolbError } from "../shared/errors.js";
import { InvalidArgumentError, type Command } from "commander";

/** Exit codes of the CLI. */
export const EXIT = Object.freeze({
  /** Every task succeeded (with --settled: the run completed). */
  ok: 0,
  /** A task failed, an input line was not JSON, or the run itself failed (start-up, broker). */
  failed: 1,
  /** Bad command line: unknown option, bad value, missing file or module. */
  usage: 2,
  /** With --failed: the run completed and some items failed (they are in the --failed file). */
  someFailed: 3,
  /** Stopped by SIGINT (Ctrl-C), after flushing what was done. */
  sigint: 130,
  /** Stopped by SIGTERM, after flushing what was done. */
  sigterm: 143,
});

/** A mistake in the command line: printed with a hint to --help, exit code 2. */
export class UsageError extends ZerolbError {
  /** Stable code: `ERR_ZEROLB_USAGE`. */
  override readonly code = "ERR_ZEROLB_USAGE";
}

/**
 * One CLI command: a module exporting a `register(program)` function that adds its subcommand
 * (with `program.command(name)`, so it inherits the program's settings) and its action. An action
 * resolves to the exit code.
 */
export type CommandModule = (program: Command, run: (action: () => Promise<number>) => Promise<void>) => void;

/** The longest a Node timer (or a ZeroMQ interval, an int) waits, ms: the bound of every ms flag. */
export const MAX_MS = 2_147_483_647;

export function integer(min: number, what: string, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${what} must be an integer >= ${min}${max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ""}.`);
    }
    return n;
  };
}

export function positiveNumber(what: string, max = Number.MAX_VALUE): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n <= 0 || n > max) {
      throw new InvalidArgumentError(`${what} must be a positive number${max < Number.MAX_VALUE ? ` up to ${max}` : ""}.`);
    }
    return n;
  };
}

export function json(what: string): (value: string) => unknown {
  return (value: string) => {
    try {
      return JSON.parse(value);
    } catch (err) {
      throw new InvalidArgumentError(`${what} must be JSON (${(err as Error).message}).`);
    }
  };
}

/** The message of an error, with its code when it has one. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}
