// The model of the model-based test: a plain record of what the commands did to the LoadBalancer
// (sends, maps, ids, cancellations, kills) and what each outcome may be. It does no I/O: where a
// judgement needs the execution log, the caller passes what it read.
//
// Each judgement that finds the LoadBalancer breaking its contract records a violation naming the
// step; the command that caused it throws it (fast-check then shrinks the command sequence).
import { TaskError } from "../../dist/index.js";

/** The LoadBalancer options the model relies on. */
export const LIMITS = Object.freeze({
  workers: 2,
  /** Small, so that send() and map() wait for room and their wake-ups are exercised. */
  highWaterMark: 3,
  /** Small, so that forgetting ids is exercised: more distinct caller-chosen ids than this are sent. */
  idMemory: 2,
  /** Above the most worker kills of a run: no task may fail with WorkerExitError. */
  maxAttempts: 5,
  workerKills: 4,
  /** Within the documented budget (5 restarts a minute): the LoadBalancer must never give up. */
  brokerKills: 2,
  closeTimeout: 10_000,
});

/**
 * Caller-chosen ids: letters, and digits that look like generated ids (they must never collide).
 * `letters` leaves the digits out, to look past a collision already known.
 */
export const CUSTOM_IDS = Object.freeze({
  all: Object.freeze(["a", "b", "c", "d", "e", "0", "1", "2"]),
  letters: Object.freeze(["a", "b", "c", "d", "e", "f", "g", "h"]),
});

const CODE = Object.freeze({
  failed: "ERR_ZEROLB_TASK_FAILED",
  cancelled: "ERR_ZEROLB_CANCELLED",
  dependency: "ERR_ZEROLB_DEPENDENCY_FAILED",
  closed: "ERR_ZEROLB_CLOSED",
  invalid: "ERR_ZEROLB_INVALID_OPTION",
});
export { CODE };

const isDigits = (id) => /^\d+$/.test(id);

/** A short description of a thrown value for messages. */
export function describeError(err) {
  if (!(err instanceof Error)) return `${typeof err} ${String(err)}`;
  return `${err.name}${err.code ? ` [${err.code}]` : ""}: ${err.message}`;
}

/** What `receive()` and settled maps say about a task, reduced to what the model checks. */
export function outcomeOf(ok, valueOrError) {
  if (ok) return { ok: true, value: valueOrError };
  const err = valueOrError;
  return { ok: false, code: err?.code, isTaskError: err instanceof TaskError, error: err };
}

export class Model {
  /** Index of the command running now (0 is the first). */
  step = -1;
  /** `{ name, offset, time }` per step: its description, the log's size and Date.now() when it began. */
  steps = [];
  /** Contract breaches found, each naming its step. */
  violations = [];
  /** Tasks by key: `{ key, spec, step, kind: "send" | "map", rec }`. */
  tasks = new Map();
  /** Every send() call, in order. */
  sends = [];
  /** Every map() call, in order. */
  maps = [];
  /** Sends accepted as new tasks (or failed at once on a failed dependency) and not yet received. */
  outstanding = 0;
  /** The accepted send record behind each id returned by send(). */
  byId = new Map();
  /** Ids send() generated, and caller-chosen ids it accepted for new tasks. */
  generatedIds = new Map();
  customIds = new Map();
  /** `{ step, kind, task keys, notStarted keys, offset, time }`: map breaks and aborts, send aborts. */
  cancellations = [];
  /** `{ step, kind: "worker" | "broker", offset, time }`. */
  kills = [];
  /** Set when close() is called: `{ force }`. */
  closing = undefined;
  #nextKey = 0;

  /** @param {readonly string[]} customIdPool the ids a send may choose (CUSTOM_IDS.all or .letters) */
  constructor(customIdPool = CUSTOM_IDS.all) {
    this.customIdPool = customIdPool;
  }

  /** The caller-chosen id a send's generated pick stands for. */
  customId(pick) {
    return this.customIdPool[pick % this.customIdPool.length];
  }

  /** Starts a step; returns its index. */
  beginStep(name, offset) {
    this.step = this.steps.length;
    this.steps.push({ name, offset, time: Date.now() });
    return this.step;
  }

  /** The step during which the log had reached `offset`. */
  stepAt(offset) {
    let step = 0;
    for (let i = 0; i < this.steps.length; i++) if (this.steps[i].offset <= offset) step = i;
    return step;
  }

  violate(message) {
    this.violations.push(`step ${this.step} (${this.steps[this.step]?.name ?? "set-up"}): ${message}`);
  }

  newKey() {
    return `k${this.#nextKey++}`;
  }

  // ---- send / receive -------------------------------------------------------------------------

  /**
   * Whether the LoadBalancer must still know `id` (so a repeated send of it is not run again, and
   * `after` may name it): it remembers the last `idMemory` finished send tasks, whatever their ids
   * (chosen or generated), so always while at most `idMemory` send tasks were made at all, and
   * whatever the count while its task is outstanding (not aborted, no dependency, and not ended in
   * the log). Otherwise it may have been forgotten: the test then does not rely on it either way.
   * (A generated id of a finished task was once taken as always known: seed 799276643 found a
   * send whose `after` named a generated id three finished tasks back, rightly refused.)
   */
  remembers(id, hasEnded) {
    const rec = this.byId.get(id);
    if (!rec) return false;
    if (this.byId.size <= LIMITS.idMemory) return true;
    return !rec.aborted && rec.deps.length === 0 && rec.result === undefined && !hasEnded(rec.key);
  }

  /** Ids a new send may name in `after`: known to the LoadBalancer for sure. */
  afterCandidates(hasEnded) {
    const out = [];
    for (const [id, rec] of this.byId) {
      if (this.remembers(id, hasEnded)) out.push({ id, rec });
    }
    return out;
  }

  /** A blocked send() with this caller-chosen id is still waiting. */
  blockedWithId(id) {
    return this.sends.some((s) => s.state === "blocked" && s.requestedId === id);
  }

  blockedSends() {
    return this.sends.filter((s) => s.state === "blocked");
  }

  addSend({ key, spec, requestedId, deps, hasSignal, dedupe, blocked }) {
    const rec = {
      n: this.sends.length, step: this.step, key, spec, requestedId, deps, hasSignal, dedupe,
      state: blocked ? "blocked" : "calling", id: undefined, original: undefined,
      aborted: false, result: undefined,
    };
    this.sends.push(rec);
    this.tasks.set(key, { key, spec, step: this.step, kind: "send", rec });
    return rec;
  }

  /** send() resolved to `id`. */
  sendResolved(rec, id) {
    const label = `send #${rec.n} (${rec.key})`;
    if (typeof id !== "string" || id === "") return this.violate(`${label} resolved to ${String(id)}, not an id`);
    if (rec.requestedId !== undefined && id !== rec.requestedId) return this.violate(`${label} asked for id "${rec.requestedId}" and resolved to "${id}"`);
    if (rec.requestedId !== undefined && this.generatedIds.has(id)) {
      // Neither a new task nor "the same task" is right: the caller meant another task than the
      // one the LoadBalancer named so (a refusal is the way out, see sendRejected).
      return this.violate(`${label}: the caller-chosen id "${id}" was accepted although send #${this.generatedIds.get(id).n} was given the same id, generated (ids collide: receive() cannot tell their results apart)`);
    }
    const known = this.byId.get(id);
    if (rec.requestedId !== undefined && known) {
      // A known caller-chosen id: the same task, not run again and no second result.
      rec.state = "deduped";
      rec.original = known;
      rec.id = id;
      return;
    }
    if (rec.dedupe) return this.violate(`${label}: id "${id}" was known, yet send() treated it as new`);
    if (rec.requestedId === undefined) {
      if (this.customIds.has(id)) {
        return this.violate(`${label}: the generated id "${id}" equals the caller-chosen id of send #${this.customIds.get(id).n} (ids collide)`);
      }
      if (this.generatedIds.has(id)) return this.violate(`${label}: the generated id "${id}" was generated before, for send #${this.generatedIds.get(id).n}`);
      this.generatedIds.set(id, rec);
    } else this.customIds.set(id, rec);
    rec.state = "accepted";
    rec.id = id;
    this.byId.set(id, rec);
    this.outstanding++;
  }

  /** send() rejected with `err`. */
  sendRejected(rec, err) {
    const label = `send #${rec.n} (${rec.key})`;
    if (rec.state === "blocked" && rec.aborted && err === rec.abortReason) {
      rec.state = "aborted-blocked";
      return;
    }
    if (rec.state === "blocked" && this.closing && err?.code === CODE.closed) {
      rec.state = "closed-blocked";
      return;
    }
    if (rec.requestedId !== undefined && isDigits(rec.requestedId) && err instanceof TypeError && err.code === CODE.invalid) {
      // Refusing a caller-chosen id that could be a generated one is one way to never collide.
      rec.state = "refused";
      return;
    }
    rec.state = "rejected";
    this.violate(`${label} rejected: ${describeError(err)}`);
  }

  /** A result from receive() (`via`: "receive", or "drain" after close). */
  onReceived(result, via) {
    const id = result?.id;
    const rec = this.byId.get(id);
    if (!rec) return this.violate(`receive() yielded a result for id ${JSON.stringify(id)}, which no send() returned`);
    const label = `send #${rec.n} (${rec.key}, id "${id}")`;
    if (rec.result) return this.violate(`receive() yielded a second result for ${label} (the first at step ${rec.result.step})`);
    const outcome = outcomeOf(result.ok, result.ok ? result.value : result.error);
    rec.result = { ...outcome, step: this.step, via };
    this.outstanding--;
    this.#judgeOutcome(rec, outcome, label, via === "drain" && this.closing?.force);
  }

  #judgeOutcome(rec, outcome, label, forceClosed) {
    if (outcome.ok) {
      if (outcome.value !== `v:${rec.key}`) {
        const repeat = this.sends.find((s) => s.original === rec && outcome.value === `v:${s.key}`);
        if (repeat) return this.violate(`${label}: receive() yielded the result of send #${repeat.n} (${repeat.key}), which repeated the known id "${rec.id}" and must not have run`);
        return this.violate(`${label} succeeded with ${JSON.stringify(outcome.value)}, expected "v:${rec.key}"`);
      }
      if (rec.spec.fail) return this.violate(`${label} succeeded although its handler throws`);
      return;
    }
    if (!outcome.isTaskError || typeof outcome.code !== "string") {
      return this.violate(`${label} failed with ${describeError(outcome.error)}: not a TaskError with a code`);
    }
    switch (outcome.code) {
      case CODE.failed:
        if (!rec.spec.fail) return this.violate(`${label} failed (${describeError(outcome.error)}) although its handler succeeds`);
        if (!String(outcome.error.message).includes(`task ${rec.key} failed on purpose`)) {
          return this.violate(`${label}: the TaskError does not carry the handler's message: ${describeError(outcome.error)}`);
        }
        return;
      case CODE.cancelled:
        if (!rec.aborted && !forceClosed) return this.violate(`${label} was cancelled although neither aborted nor closed by force: ${describeError(outcome.error)}`);
        return;
      case CODE.dependency:
        if (rec.deps.length === 0) return this.violate(`${label} failed with a DependencyError but has no dependency`);
        return; // whether a dependency failed is known at the end
      default:
        return this.violate(`${label} failed with an unexpected ${describeError(outcome.error)}`);
    }
  }

  // ---- map ------------------------------------------------------------------------------------

  addMap({ keys, specs, ordered, settled, hasSignal }) {
    const rec = {
      n: this.maps.length, step: this.step, keys, specs, ordered, settled, hasSignal,
      // open: results may come; aborted: the next next() must throw the signal's reason;
      // ended: done, or it threw; broken: return() was called.
      // yielded: indices yielded (ok or not); ran: those whose outcome says the handler ran.
      state: "open", yielded: new Set(), ran: new Set(), nextIndex: 0, endedNaturally: false,
    };
    this.maps.push(rec);
    keys.forEach((key, i) => this.tasks.set(key, { key, spec: specs[i], step: this.step, kind: "map", rec, index: i }));
    return rec;
  }

  openMaps() {
    return this.maps.filter((m) => m.state === "open" || m.state === "aborted");
  }

  // ---- cancellations and faults -------------------------------------------------------------

  /** A cancellation was issued: `keys` are its tasks, `started` those with a START line before `offset`. */
  addCancellation(kind, keys, started, offset) {
    const notStarted = new Set(keys.filter((k) => !started.has(k)));
    this.cancellations.push({ step: this.step, kind, keys: new Set(keys), notStarted, offset, time: Date.now() });
  }

  addKill(kind, offset) {
    this.kills.push({ step: this.step, kind, offset, time: Date.now() });
  }

  killsOf(kind) {
    return this.kills.filter((k) => k.kind === kind).length;
  }
}
