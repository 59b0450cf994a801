// map() and what a consumer does with its iterator (next(), two next() at once, break, abort),
// as commands of the model test.
import { judgeMapOutcome } from "./map-judge.js";
import { describeError } from "./model.js";
import { settle } from "./real.js";
import { specText, Step } from "./step.js";

/** One next() call on map `rec`, judged; a handler's failure there cancels the rest of the map. */
async function nextOnce(m, r, rec, what) {
  const offset = r.log.size();
  const out = await settle(r.iterators.get(rec.n).next(), `map #${rec.n}: ${what}`);
  if (judgeMapOutcome(m, rec, out, what)) m.addCancellation(`failure of map #${rec.n}`, rec.keys, r.log.startedBefore(offset), offset);
}

export async function consume(m, r, rec, count, what) {
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
      if (judgeMapOutcome(m, rec, out, `concurrent next() #${i + 1}`)) m.addCancellation(`failure of map #${rec.n}`, rec.keys, r.log.startedBefore(offset), offset);
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
