// Logging by the `debug` convention: DEBUG=zerolb:* turns it on, per process role. Children
// inherit the environment and write to stderr, which the caller passes through, so every line
// reaches the caller's terminal tagged with its role and pid. When off, a call costs one check.
import createDebug from "debug";

export type Role = "caller" | "broker" | "worker" | "cli";

/** A log function for one role: `DEBUG=zerolb:broker` (or `zerolb:*`) turns it on; lines carry the pid. */
export type Log = ((format: string, ...args: unknown[]) => void) & { readonly enabled: boolean };

export function logger(role: Role): Log {
  const debug = createDebug(`zerolb:${role}`);
  const pid = `[${process.pid}] `;
  const log = (format: string, ...args: unknown[]) => {
    if (debug.enabled) debug(pid + format, ...args);
  };
  Object.defineProperty(log, "enabled", { get: () => debug.enabled });
  return log as Log;
}
