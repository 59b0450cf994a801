// What broker and worker children share: wait for their config, report ready or fatal, and
// shut down on SIGTERM or when the parent goes away.
import { serializeError } from "./error-wire.js";
import type { ChildMessage, ParentMessage } from "./child-messages.js";

/** How long a child whose caller died may take to stop (teardown, in-flight work) before it exits anyway. */
const PARENT_GONE_GRACE_MS = 2000;

export function report(message: ChildMessage): void {
  process.send?.(message);
}

/**
 * Runs `start(config)` once the parent sends the config, then reports ready (with what `start`
 * resolved to, e.g. the broker's bound endpoint); calls `stop()` on SIGTERM/SIGINT or parent exit.
 */
export function runChild<Config>(start: (config: Config) => Promise<void | { endpoint?: string }>, stop: () => Promise<void>): () => void {
  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // The caller is gone (killed, crashed): nobody will take results or send SIGKILL after a grace
  // period, so the stop is bounded here. A handler that never settles must not keep this process.
  const parentGone = () => {
    setTimeout(() => process.exit(1), PARENT_GONE_GRACE_MS).unref();
    shutdown();
  };
  process.once("SIGTERM", shutdown);
  // Ctrl-C in a terminal reaches the whole process group. A child of a caller leaves the decision
  // to its caller (which drains, then stops it with SIGTERM); a stand-alone one stops on SIGINT.
  if (process.send) process.on("SIGINT", () => {});
  else process.once("SIGINT", shutdown);
  process.once("disconnect", parentGone);
  process.once("message", (message: ParentMessage<Config>) => {
    start(message.config).then(
      (extra) => report({ type: "ready", ...(extra ?? {}) }),
      (err: unknown) => {
        report({ type: "fatal", error: serializeError(err) });
        process.exitCode = 1;
        // Let the IPC message flush before exiting.
        setImmediate(() => process.exit(1));
      },
    );
  });
  // The child's own decision to stop (a worker recycled): the same path as SIGTERM.
  return shutdown;
}
