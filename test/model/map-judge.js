// The model's judgement of a map iterator: what one next() call may yield or throw, given what the
// map was asked to do and what it yielded so far (the map records live in the model).
import { TaskError } from "../../dist/index.js";
import { CODE, describeError, outcomeOf } from "./model.js";

/**
 * Judges one settled next() call: `{ value }` (an IteratorResult) or `{ error }`. Returns true
 * when it threw a handler's TaskError (the map cancels the rest: a cancellation to record).
 */
export function judgeMapOutcome(m, rec, outcome, what) {
  const label = `map #${rec.n} ${what}`;
  const drained = m.closing !== undefined;
  if (outcome.error !== undefined) {
    const err = outcome.error;
    if (rec.state === "aborted") {
      rec.state = "ended";
      if (err !== rec.abortReason) m.violate(`${label} threw ${describeError(err)}, expected the abort signal's reason`);
      return false;
    }
    if (rec.state !== "open") return m.violate(`${label} threw ${describeError(err)} after the map had ended`), false;
    rec.state = "ended";
    if (drained && (err?.code === CODE.closed || err?.code === CODE.cancelled)) return false;
    if (!rec.settled && err instanceof TaskError && err.code === CODE.failed) {
      const candidates = rec.ordered ? [rec.nextIndex] : rec.keys.map((_, i) => i).filter((i) => !rec.yielded.has(i));
      const index = candidates.find((i) => rec.specs[i]?.fail && String(err.message).includes(`task ${rec.keys[i]} failed on purpose`));
      if (index === undefined) m.violate(`${label} threw ${describeError(err)}, which names no failing item it could be (next index ${rec.nextIndex})`);
      return true;
    }
    m.violate(`${label} threw an unexpected ${describeError(err)}`);
    return false;
  }
  const result = outcome.value;
  if (result?.done === true) {
    if (rec.state === "aborted") m.violate(`${label} ended without throwing the abort signal's reason`);
    else if (rec.state === "open" && rec.yielded.size < rec.keys.length) {
      m.violate(`${label} ended after ${rec.yielded.size} of ${rec.keys.length} results, none cancelled`);
    } else if (rec.state === "open") rec.endedNaturally = true;
    if (rec.state !== "broken") rec.state = "ended";
    return false;
  }
  if (rec.state !== "open") return m.violate(`${label} yielded ${JSON.stringify(result?.value)} although it was ${rec.state}`), false;
  judgeMapValue(m, rec, result?.value, label, drained && m.closing.force);
  return false;
}

function judgeMapValue(m, rec, value, label, forceClosed) {
  let index;
  let outcome;
  if (rec.settled) {
    if (typeof value !== "object" || value === null || !Number.isInteger(value.index)) return m.violate(`${label} yielded ${JSON.stringify(value)}, not a settled row`);
    index = value.index;
    outcome = outcomeOf(value.ok === true, value.ok === true ? value.value : value.error);
  } else {
    index = rec.keys.findIndex((key) => value === `v:${key}`);
    outcome = { ok: true, value };
    if (index < 0) return m.violate(`${label} yielded ${JSON.stringify(value)}, the result of none of its items`);
  }
  if (index < 0 || index >= rec.keys.length) return m.violate(`${label} yielded a row for index ${index} of ${rec.keys.length}`);
  if (rec.yielded.has(index)) return m.violate(`${label} yielded item ${index} (${rec.keys[index]}) a second time`);
  if (rec.ordered && index !== rec.nextIndex) return m.violate(`${label} yielded item ${index} where item ${rec.nextIndex} was due (ordered)`);
  rec.yielded.add(index);
  rec.nextIndex++;
  const key = rec.keys[index];
  const spec = rec.specs[index];
  if (outcome.ok) {
    rec.ran.add(index);
    if (outcome.value !== `v:${key}`) return m.violate(`${label} item ${index} succeeded with ${JSON.stringify(outcome.value)}, expected "v:${key}"`);
    if (spec.fail) return m.violate(`${label} item ${index} (${key}) succeeded although its handler throws`);
    return;
  }
  if (!outcome.isTaskError) return m.violate(`${label} item ${index} failed with ${describeError(outcome.error)}: not a TaskError`);
  if (outcome.code === CODE.failed && spec.fail) return void rec.ran.add(index);
  if (outcome.code === CODE.cancelled && forceClosed) return;
  m.violate(`${label} item ${index} (${key}) failed with an unexpected ${describeError(outcome.error)}`);
}
