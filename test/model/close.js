// The last step of every run of the model test: close(), then everything that must hold after it.
import { consume } from "./map-commands.js";
import { CODE, describeError, LIMITS } from "./model.js";
import { BOUND_MS, Hang, settle } from "./real.js";
import { quiesce } from "./fault-commands.js";
import { stillBlocked } from "./send-commands.js";
import { throwIfViolated } from "./step.js";
import { verifyRun } from "./verify.js";

/**
 * close() (by force or not; after waiting until no task runs, or at once), then everything that
 * must hold once it returns: blocked sends and receive() settle, open maps end, no process or ipc
 * directory is left, and the log agrees.
 */
export async function closeAndVerify(m, r, { force, quiet }) {
  if (quiet) {
    m.beginStep("wait until no task runs", r.log.size());
    await quiesce(m, r);
  }
  m.beginStep(`close(${force ? "{ force: true }" : ""})`, r.log.size());
  m.closing = { force };
  r.samplePids();
  r.closed = true;
  try {
    const out = await settle(r.lb.close({ force }), "close()", LIMITS.closeTimeout + BOUND_MS);
    if ("error" in out) m.violate(`close() rejected: ${describeError(out.error)}`);
    for (const p of stillBlocked(m, r)) await settle(p, "a send() waiting for room, after close()");
    for (let i = 0; ; i++) {
      const o = await settle(r.lb.receive(), "receive() after close()");
      if ("error" in o) {
        if (o.error?.code !== CODE.closed) m.violate(`receive() after close() rejected with ${describeError(o.error)}, not a ClosedError`);
        break;
      }
      m.onReceived(o.value, "drain");
      if (i > m.sends.length) {
        m.violate("receive() keeps yielding results after close()");
        break;
      }
    }
    for (const rec of m.openMaps()) {
      await consume(m, r, rec, rec.keys.length + 2, "next() after close()");
      if (rec.state === "open" || rec.state === "aborted") m.violate(`map #${rec.n} did not end after close()`);
    }
  } catch (err) {
    if (!(err instanceof Hang)) throw err;
    m.violate(err.message);
  }
  const { pids, ipc } = r.leftovers();
  if (pids.length > 0) m.violate(`processes still alive after close(): ${pids.join(", ")}`);
  if (ipc.length > 0) m.violate(`ipc directories left after close(): ${ipc.join(", ")}`);
  for (const problem of verifyRun(m, r.log.entries())) m.violations.push(`after the run: ${problem}`);
  throwIfViolated(m);
}
