// The commands of the model test: what a user (or an operator's bad day) does to a LoadBalancer,
// each run against the real one and judged by the model. Commands hold only what fast-check
// generated (they are reused while it shrinks); every other state lives in the model or the real
// system. A command whose situation does not arise (no open map, nothing to receive) does nothing.
import fc from "fast-check";
import { alive, waitFor } from "../helpers.js";
import { CODE, describeError, LIMITS } from "./model.js";
import { BOUND_MS, Hang, letIoRun, settle } from "./real.js";
import { verifyRun } from "./verify.js";

/** Thrown at the end of a step (or run) that found the LoadBalancer breaking its contract. */
export class ModelViolation extends Error {}

function throwIfViolated(m) {
  if (m.violations.length > 0) throw new ModelViolation(m.violations.join("\n"));
}

const specText = (s) => `${s.ms}ms${s.honor ? " honors signal" : ""}${s.fail ? " fails" : ""}`;

class Step {
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
async function failureOf(r) {
  const out = await settle(r.lb.map([]).next(), "an empty map", 2000).catch(() => ({}));
  return "error" in out ? ` (meanwhile the LoadBalancer failed: ${describeError(out.error)})` : "";
}

// ---- send / receive ---------------------------------------------------------------------------

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
    const candidates = this.afterPicks.length > 0 ? m.afterCandidates(hasEnded).filter((c) => c.id !== requestedId) : [];
    const deps = [];
    for (const pick of this.afterPicks) {
      const c = candidates[pick % Math.max(1, candidates.length)];
      if (c && !deps.includes(c.rec)) deps.push(c.rec);
    }
    const key = m.newKey();
    // Waits for room while highWaterMark sends are not yet received (or others already wait).
    const blocked = m.outstanding >= LIMITS.highWaterMark || m.blockedSends().length > 0;
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
function stillBlocked(m, r) {
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

// ---- map --------------------------------------------------------------------------------------

/** One next() call on map `rec`, judged; a handler's failure there cancels the rest of the map. */
async function nextOnce(m, r, rec, what) {
  const offset = r.log.size();
  const out = await settle(r.iterators.get(rec.n).next(), `map #${rec.n}: ${what}`);
  if (m.onMapOutcome(rec, out, what)) m.addCancellation(`failure of map #${rec.n}`, rec.keys, r.log.startedBefore(offset), offset);
}

async function consume(m, r, rec, count, what) {
  for (let i = 0; i < count && (rec.state === "open" || rec.state === "aborted"); i++) await nextOnce(m, r, rec, what);
}

async function breakOut(m, r, rec) {
  const offset = r.log.size();
  const out = await settle(r.iterators.get(rec.n).return(), `map #${rec.n}: return() (break)`);
  if ("error" in out) m.violate(`map #${rec.n}: return() rejected: ${describeError(out.error)}`);
  else if (out.value?.done !== true) m.violate(`map #${rec.n}: return() resolved to ${JSON.stringify(out.value)}, not done`);
  if (rec.state === "open" || rec.state === "aborted") m.addCancellation(`break out of map #${rec.n}`, rec.keys, r.log.startedBefore(offset), offset);
  rec.state = "broken";
}

export class MapItems extends Step {
  constructor(specs, ordered, settled, withSignal, take, then) {
    super();
    Object.assign(this, { specs, ordered, settled, withSignal, take, then });
  }

  toString() {
    const flags = [this.ordered ? "ordered" : "unordered", this.settled ? "settled" : "", this.withSignal ? "signal" : ""].filter(Boolean).join(", ");
    return `map([${this.specs.map(specText).join("; ")}], ${flags}) take ${this.take} then ${this.then}`;
  }

  async exec(m, r) {
    const keys = this.specs.map(() => m.newKey());
    const rec = m.addMap({ keys, specs: this.specs, ordered: this.ordered, settled: this.settled, hasSignal: this.withSignal });
    const options = { ordered: this.ordered, settled: this.settled };
    if (this.withSignal) {
      const controller = new AbortController();
      r.mapAborts.set(rec.n, controller);
      options.signal = controller.signal;
    }
    r.iterators.set(rec.n, r.lb.map(keys.map((k, i) => ({ k, ...this.specs[i] })), options));
    await consume(m, r, rec, this.take, "next()");
    if (this.then === "break") await breakOut(m, r, rec);
    else if (this.then === "drain") await consume(m, r, rec, keys.length + 1, "next() (draining)");
  }
}

/** Picks one of the maps still open, or undefined. */
const pickOpen = (m, pick) => {
  const open = m.openMaps();
  return open.length === 0 ? undefined : open[pick % open.length];
};

export class MapNext extends Step {
  constructor(pick, count) {
    super();
    Object.assign(this, { pick, count });
  }

  toString() {
    return `next() × ${this.count} on an open map (pick ${this.pick})`;
  }

  async exec(m, r) {
    const rec = pickOpen(m, this.pick);
    if (rec) await consume(m, r, rec, this.count, "next()");
  }
}

export class TwoNexts extends Step {
  constructor(pick) {
    super();
    this.pick = pick;
  }

  toString() {
    return `two concurrent next() on an open map (pick ${this.pick})`;
  }

  async exec(m, r) {
    const rec = pickOpen(m, this.pick);
    if (!rec) return;
    const offset = r.log.size();
    const it = r.iterators.get(rec.n);
    const first = it.next();
    const second = it.next();
    const outs = [];
    outs.push(await settle(first, `map #${rec.n}: the first of two concurrent next() calls`));
    outs.push(await settle(second, `map #${rec.n}: the second of two concurrent next() calls`));
    for (const [i, out] of outs.entries()) {
      if (m.onMapOutcome(rec, out, `concurrent next() #${i + 1}`)) m.addCancellation(`failure of map #${rec.n}`, rec.keys, r.log.startedBefore(offset), offset);
    }
  }
}

export class BreakMap extends Step {
  constructor(pick) {
    super();
    this.pick = pick;
  }

  toString() {
    return `break out of an open map (pick ${this.pick})`;
  }

  async exec(m, r) {
    const rec = pickOpen(m, this.pick);
    if (rec) await breakOut(m, r, rec);
  }
}

export class AbortMap extends Step {
  constructor(pick) {
    super();
    this.pick = pick;
  }

  toString() {
    return `abort an open map (pick ${this.pick})`;
  }

  async exec(m, r) {
    const open = m.maps.filter((x) => x.state === "open" && x.hasSignal);
    if (open.length === 0) return;
    const rec = open[this.pick % open.length];
    const offset = r.log.size();
    rec.abortReason = new Error(`abort of map #${rec.n}`);
    rec.state = "aborted";
    r.mapAborts.get(rec.n).abort(rec.abortReason);
    m.addCancellation(`abort of map #${rec.n}`, rec.keys, r.log.startedBefore(offset), offset);
  }
}

// ---- faults -----------------------------------------------------------------------------------

export class KillWorker extends Step {
  constructor(index) {
    super();
    this.index = index;
  }

  toString() {
    return `SIGKILL worker ${this.index}`;
  }

  check(m) {
    return m.killsOf("worker") < LIMITS.workerKills;
  }

  async exec(m, r) {
    const pids = r.lb.pids.workers;
    if (pids.length === 0) return;
    m.addKill("worker", r.log.size());
    process.kill(pids[this.index % pids.length], "SIGKILL");
  }
}

/**
 * How long a broker kill waits: not at all, until a new broker process exists (its restart and the
 * re-sending of tasks may still be under way when the next step starts), or until it serves.
 */
const BROKER_WAITS = ["no wait", "new process", "serving"];

export class KillBroker extends Step {
  constructor(wait) {
    super();
    this.wait = wait;
  }

  toString() {
    return `SIGKILL the broker (${BROKER_WAITS[this.wait]})`;
  }

  check(m) {
    return m.killsOf("broker") < LIMITS.brokerKills;
  }

  async exec(m, r) {
    const pid = r.lb.pids.broker;
    if (!pid || !alive(pid)) return;
    const before = r.lb.stats().brokerRestarts;
    m.addKill("broker", r.log.size());
    process.kill(pid, "SIGKILL");
    if (this.wait === 0) return;
    const restarted = () => r.lb.stats().brokerRestarts > before && r.lb.pids.broker !== pid && alive(r.lb.pids.broker);
    try {
      await waitFor(restarted, { timeout: BOUND_MS, interval: 1, what: "a new broker after a SIGKILL" });
    } catch (err) {
      return m.violate(`${err.message}${await failureOf(r)}`);
    }
    if (this.wait === 1) return;
    // The new broker serves: a one-item map goes through it (an ordinary map of the model).
    const keys = [m.newKey()];
    const specs = [{ ms: 0, honor: false, fail: false }];
    const rec = m.addMap({ keys, specs, ordered: true, settled: false, hasSignal: false });
    r.iterators.set(rec.n, r.lb.map(keys.map((k, i) => ({ k, ...specs[i] }))));
    await consume(m, r, rec, 2, "next() of a map after the broker restart");
  }
}

// ---- waiting ----------------------------------------------------------------------------------

/**
 * Resolves once no task runs on a live worker (by the log: every START has its END). A task held
 * by a worker behind a running one, whose cancellation that worker ignored, starts then: the step
 * gives such tasks the chance to show up before close() stops the workers. Nothing more: the
 * model never depends on it.
 */
async function quiesce(m, r) {
  const running = () => {
    const open = new Map();
    for (const e of r.log.entries()) {
      if (e.type === "S") open.set(`${e.pid} ${e.key}`, e.pid);
      else if (e.type === "E") open.delete(`${e.pid} ${e.key}`);
    }
    return [...open.values()].filter(alive).length;
  };
  await waitFor(() => running() === 0, { timeout: BOUND_MS, what: "every running task to end" }).catch((err) => m.violate(err.message));
}

export class Quiesce extends Step {
  toString() {
    return "wait until no task runs";
  }

  async exec(m, r) {
    await quiesce(m, r);
  }
}

// ---- the last step ----------------------------------------------------------------------------

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

// ---- arbitraries ------------------------------------------------------------------------------

const specArb = fc.record({
  ms: fc.constantFrom(0, 5, 40, 150, 400),
  honor: fc.boolean(),
  fail: fc.oneof({ weight: 7, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});
const pickArb = fc.nat({ max: 50 });

const sendArb = fc
  .tuple(specArb, fc.option(fc.nat({ max: 7 }), { nil: null, freq: 2 }), fc.array(pickArb, { maxLength: 2 }), fc.boolean())
  .map(([spec, id, after, signal]) => new Send(spec, id, after, signal));
const mapArb = fc
  .tuple(fc.array(specArb, { minLength: 1, maxLength: 6 }), fc.boolean(), fc.boolean(), fc.boolean(), fc.nat({ max: 6 }), fc.constantFrom("keep", "break", "drain"))
  .map(([specs, ordered, settled, signal, take, then]) => new MapItems(specs, ordered, settled, signal, take, then));

/** Each command's arbitrary, repeated by weight (fast-check picks among them evenly). */
export const commandArbitraries = [
  ...Array(6).fill(sendArb),
  ...Array(3).fill(fc.constant(new Receive())),
  ...Array(3).fill(mapArb),
  ...Array(2).fill(fc.tuple(pickArb, fc.integer({ min: 1, max: 4 })).map(([pick, count]) => new MapNext(pick, count))),
  pickArb.map((pick) => new TwoNexts(pick)),
  pickArb.map((pick) => new BreakMap(pick)),
  pickArb.map((pick) => new AbortMap(pick)),
  pickArb.map((pick) => new AbortSend(pick)),
  fc.nat({ max: 1 }).map((i) => new KillWorker(i)),
  fc.nat({ max: BROKER_WAITS.length - 1 }).map((wait) => new KillBroker(wait)),
  fc.constant(new Quiesce()),
];
