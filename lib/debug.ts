// Logging by the `debug` convention: DEBUG=zerolb:* turns it on, per process role. Children
// inherit the environment and write to stderr, which the caller passes through, so every line
// reaches the caller's terminal tagged with its role and pid. When off, a call costs one check.
import createDebug from "debug";

export type Role = "caller" | "broker" | "worker" | "cli";

export function logger(role: Role): createDebug.Debugger {
  const log = createDebug(`zerolb:${role}`);
  return log.enabled ? log.extend(String(process.pid), ":") : log;
}
