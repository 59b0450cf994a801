// send(), receive() and the abort of a send, as commands of the model test.
import { describeError, LIMITS } from "./model.js";
import { settle } from "./real.js";
import { specText, Step } from "./step.js";

export class Send extends Step {
  constructor(spec, idPick, afterPicks, withSignal) {
    super();
    Object.assign(this, { spec, idPick, afterPicks, withSignal });
  }

  toString() {
    const id = this.idPick === null ? "" : `, id pick ${this.idPick}`;
    const after = this.afterPicks.length > 0 ? `, after picks [${this.afterPicks}]` : "";
    return `send(${specText(this.spec)}${id}${after}${this.withSignal ? ", signal" : ""})`;
  }

  async exec(m, r) {
    const requestedId = this.idPick === null ? undefined : m.customId(this.idPick);
    const hasEnded = (key) => r.log.hasEnded(key);
    if (requestedId !== undefined && m.blockedWithId(requestedId)) return;
    let dedupe = false;
    if (requestedId !== undefined && m.customIds.has(requestedId)) {
      // A known id: not run again, no second result. One that may have been forgotten
      // (idMemory) could go either way, so the step does nothing.
      if (!m.remembers(requestedId, hasEnded)) return;
      dedupe = true;
    }
    // Waits for room while highWaterMark sends are not yet received (or others already wait).
    const blocked = m.outstanding >= LIMITS.highWaterMark || m.blockedSends().length > 0;
    // A send that waits for room names no `after`: its dependencies are looked up when it leaves the
    // line, and by then a finished one may be forgotten (idMemory), which the model cannot foresee.
    const candidates = this.afterPicks.length > 0 && !blocked ? m.afterCandidates(hasEnded).filter((c) => c.id !== requestedId) : [];
    const deps = [];
    for (const pick of this.afterPicks) {
      const c = candidates[pick % Math.max(1, candidates.length)];
      if (c && !deps.includes(c.rec)) deps.push(c.rec);
    }
    const key = m.newKey();
    const rec = m.addSend({ key, spec: this.spec, requestedId, deps, hasSignal: this.withSignal, dedupe, blocked });
    const options = {};
    if (requestedId !== undefined) options.id = requestedId;
    if (deps.length > 0) options.after = deps.map((d) => d.id);
    if (this.withSignal) {
      const controller = new AbortController();
      r.sendAborts.set(rec.n, controller);
      options.signal = controller.signal;
    }
    const call = r.lb.send({ k: key, ...this.spec }, options);
    if (blocked) {
      const settled = call.then((id) => m.sendResolved(rec, id), (err) => m.sendRejected(rec, err));
      r.blocked.set(rec.n, settled.finally(() => r.blocked.delete(rec.n)));
      return;
    }
    const out = await settle(call, `send #${rec.n}: send()`);
    if ("error" in out) m.sendRejected(rec, out.error);
    else m.sendResolved(rec, out.value);
  }
}

/** The promises of sends still waiting for room. */
export function stillBlocked(m, r) {
  return [...r.blocked].filter(([n]) => m.sends[n].state === "blocked").map(([, p]) => p);
}

export class Receive extends Step {
  toString() {
    return "receive()";
  }

  async exec(m, r) {
    if (m.outstanding === 0) return; // no result is sure to come: receive() would rightly wait for ever
    // Taken before: the slot receive() frees wakes one of these, maybe before receive() resolves.
    const waiting = stillBlocked(m, r);
    const out = await settle(r.lb.receive(), "receive()");
    if ("error" in out) return m.violate(`receive() rejected: ${describeError(out.error)}`);
    m.onReceived(out.value, "receive");
    if (waiting.length > 0) await settle(Promise.race(waiting), "a send() waiting for room, after receive() freed one");
  }
}

export class AbortSend extends Step {
  constructor(pick) {
    super();
    this.pick = pick;
  }

  toString() {
    return `abort a send (pick ${this.pick})`;
  }

  async exec(m, r) {
    const candidates = m.sends.filter((s) => s.hasSignal && !s.aborted && (s.state === "blocked" || s.state === "accepted"));
    if (candidates.length === 0) return;
    const rec = candidates[this.pick % candidates.length];
    const offset = r.log.size();
    const wasBlocked = rec.state === "blocked";
    rec.aborted = true;
    rec.abortReason = new Error(`abort of send #${rec.n}`);
    r.sendAborts.get(rec.n).abort(rec.abortReason);
    if (wasBlocked) {
      await settle(r.blocked.get(rec.n) ?? Promise.resolve(), `send #${rec.n}: send() waiting for room, after its abort`);
      if (rec.state !== "aborted-blocked") m.violate(`send #${rec.n} was aborted while waiting for room, yet ended ${rec.state}`);
      return;
    }
    m.addCancellation(`abort of send #${rec.n}`, [rec.key], r.log.startedBefore(offset), offset);
  }
}
