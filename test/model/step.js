// The base of the model test's commands: each step is named in the model, bounded, and fails the
// run with every violation it found. Commands hold only what fast-check generated (they are reused
// while it shrinks); every other state lives in the model or the real system. A command whose
// situation does not arise (no open map, nothing to receive) does nothing.
import { describeError } from "./model.js";
import { Hang, letIoRun, settle } from "./real.js";

/** Thrown at the end of a step (or run) that found the LoadBalancer breaking its contract. */
export class ModelViolation extends Error {}

export function throwIfViolated(m) {
  if (m.violations.length > 0) throw new ModelViolation(m.violations.join("\n"));
}

export const specText = (s) => `${s.ms}ms${s.honor ? " honors signal" : ""}${s.fail ? " fails" : ""}`;

export class Step {
  check() {
    return true;
  }

  async run(m, r) {
    m.beginStep(String(this), r.log.size());
    r.samplePids();
    try {
      await this.exec(m, r);
      // Lets what the step set going leave the caller (a Withdraw after an abort, say) before the
      // next step: later steps' tasks then reach the broker after it.
      await letIoRun();
    } catch (err) {
      if (!(err instanceof Hang)) throw err;
      m.violate(`${err.message}${await failureOf(r)}`);
    }
    r.samplePids();
    throwIfViolated(m);
  }
}

/**
 * Why a step hung, if the LoadBalancer has failed as a whole (a BrokerError, say): an empty map
 * asks without running anything. "" when it has not.
 */
export async function failureOf(r) {
  const out = await settle(r.lb.map([]).next(), "an empty map", 2000).catch(() => ({}));
  return "error" in out ? ` (meanwhile the LoadBalancer failed: ${describeError(out.error)})` : "";
}
