// The checks made once a run is over (closed, drained), against the whole execution log: what ran,
// how often, in which order, and whether anything ran after its cancellation had reached it.
import { CODE } from "./model.js";

/**
 * Cancellations near a broker kill are not judged: a restart re-sends tasks and resets workers
 * (aborting their signals), so "the cancellation reached the worker before X" no longer follows
 * from message order. Near: issued from 3 steps before the kill until 5 s after it (a restart
 * takes well under a second), or with the kill between the cancellation and the start judged.
 */
const BROKER_KILL_SHADOW_STEPS = 3;
const BROKER_RESTART_SETTLED_MS = 5000;

/** @returns {string[]} contract breaches, each naming the tasks and steps involved */
export function verifyRun(model, entries) {
  const problems = [];
  const starts = new Map();
  const ends = new Map();
  for (const e of entries) {
    const into = e.type === "S" ? starts : e.type === "E" ? ends : undefined;
    if (!into) continue;
    if (!into.has(e.key)) into.set(e.key, []);
    into.get(e.key).push(e);
  }
  const firstStart = (key) => starts.get(key)?.[0];
  const firstDone = (key) => ends.get(key)?.find((e) => e.how === "done");
  const where = (e) => `pid ${e.pid}, step ${model.stepAt(e.offset)}`;

  // A worker aborts ctx.signal when a task's cancellation reaches it (or its broker resets it):
  // a task that starts with its signal already aborted ran after its cancellation had arrived.
  for (const e of entries) {
    if (e.type === "S" && e.signal === "aborted") {
      problems.push(`task ${e.key} started (${where(e)}) with its ctx.signal already aborted: its cancellation had reached the worker, which ran it anyway`);
    }
  }

  // At-least-once execution is allowed only when something died: a task's second start must
  // follow a worker or broker kill.
  for (const [key, list] of starts) {
    for (const again of list.slice(1)) {
      if (!model.kills.some((k) => k.offset <= again.offset)) {
        problems.push(`task ${key} started ${list.length} times (${list.map(where).join("; ")}) although nothing had died`);
        break;
      }
    }
  }

  for (const rec of model.sends) {
    const label = `send #${rec.n} (${rec.key}${rec.id ? `, id "${rec.id}"` : ""}, step ${rec.step})`;
    if (["deduped", "refused", "aborted-blocked", "closed-blocked"].includes(rec.state)) {
      if (starts.has(rec.key)) problems.push(`${label} was ${rec.state} yet its input ran (${where(firstStart(rec.key))})`);
      continue;
    }
    if (rec.state !== "accepted") continue;
    if (!rec.result) {
      problems.push(`${label}: its result never arrived, not even after close()`);
      continue;
    }
    const r = rec.result;
    const start = firstStart(rec.key);
    if (r.ok && !firstDone(rec.key)) problems.push(`${label} succeeded but its handler never finished (no END in the log)`);
    if (!r.ok && r.code === CODE.dependency) {
      if (start) problems.push(`${label} failed with a DependencyError but ran (${where(start)})`);
      const failedDep = rec.deps.find((d) => d.aborted || !d.result || !d.result.ok);
      if (!failedDep) {
        problems.push(`${label} failed with a DependencyError although every task it runs after succeeded (${rec.deps.map((d) => d.id).join(", ")}): ${r.error?.message}`);
      }
    }
    if (r.ok || r.code === CODE.failed) {
      for (const dep of rec.deps) {
        if (dep.aborted) continue; // aborted after it had finished at the broker: either is right
        if (!dep.result?.ok) {
          problems.push(`${label} ran (${r.ok ? "succeeded" : "failed"}) although task "${dep.id}" it runs after ${dep.result ? `failed (${dep.result.code})` : "has no result"}`);
          continue;
        }
        const depDone = firstDone(dep.key);
        if (start && (!depDone || start.offset < depDone.offset)) {
          problems.push(`${label} started (${where(start)}) before task "${dep.id}" (${dep.key}) it runs after had finished`);
        }
      }
    }
  }

  for (const rec of model.maps) {
    for (const index of rec.ran) {
      const key = rec.keys[index];
      if (!starts.has(key)) problems.push(`map #${rec.n} yielded the outcome of item ${index} (${key}), whose handler never started`);
    }
    if (rec.endedNaturally && rec.yielded.size !== rec.keys.length) {
      problems.push(`map #${rec.n} ended with ${rec.yielded.size} of ${rec.keys.length} items yielded`);
    }
  }

  problems.push(...verifyCancellations(model, entries));
  return problems;
}

/**
 * Nothing cancelled before it started may start once the cancellation has reached its worker.
 * The test cannot see a message arrive, so it uses two events that can only happen after it:
 * (a) a running task of the same cancellation saw its ctx.signal aborted on that worker (one
 *     Cancel message carries every task of that cancellation the worker holds), and
 * (b) a task submitted by a later command started on that worker (the broker withdrew the task
 *     before it dispatched the later one, and a worker reads its messages in order).
 * A task still unstarted at the cancellation that starts on that worker after either event ran
 * after its cancellation had reached the process holding it.
 */
function verifyCancellations(model, entries) {
  const problems = [];
  const brokerKills = model.kills.filter((k) => k.kind === "broker");
  const closeOffset = model.closing ? model.steps[model.steps.length - 1].offset : Infinity;
  for (const c of model.cancellations) {
    if (c.notStarted.size === 0) continue;
    const shadowed = (offset) =>
      brokerKills.some((k) => (k.step >= c.step - BROKER_KILL_SHADOW_STEPS && k.step <= model.stepAt(offset)) || (k.time <= c.time && c.time - k.time < BROKER_RESTART_SETTLED_MS));
    // The first marker per worker pid after the cancellation.
    const markers = new Map();
    for (const e of entries) {
      if (e.offset < c.offset || markers.has(e.pid)) continue;
      const aborted = e.type === "A" && c.keys.has(e.key) && e.offset < closeOffset;
      const later = e.type === "S" && (model.tasks.get(e.key)?.step ?? -1) > c.step;
      if (aborted) markers.set(e.pid, { e, why: `${e.key} of the same cancellation saw its ctx.signal aborted there` });
      else if (later) markers.set(e.pid, { e, why: `${e.key}, sent at step ${model.tasks.get(e.key).step}, started there` });
    }
    for (const e of entries) {
      if (e.type !== "S" || !c.notStarted.has(e.key) || e.offset < c.offset) continue;
      const marker = markers.get(e.pid);
      if (!marker || e.offset < marker.e.offset || shadowed(e.offset)) continue;
      problems.push(
        `task ${e.key} started on pid ${e.pid} at step ${model.stepAt(e.offset)} although it was cancelled (${c.kind}) at step ${c.step} ` +
          `before it had started, and the cancellation had reached that worker (${marker.why}, step ${model.stepAt(marker.e.offset)})`,
      );
    }
  }
  return problems;
}
