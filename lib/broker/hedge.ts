// Straggler hedging (`hedge: true`): each hedged map's median run time, and which running tasks
// are stragglers worth starting again on an idle worker. No sockets, no clocks: the scheduler
// calls it with its workers and the time.
import { newTask, type Task, type WorkerSlot } from "./records.js";

/** A task is a straggler once it has run more than this many times its map's median. */
export const HEDGE_FACTOR = 3;
/** Finished runs of a map needed before its median is trusted. */
export const HEDGE_MIN_SAMPLES = 5;
/** Run times kept per map: the latest ones, so the median follows a map whose tasks change. */
const SAMPLES = 63;
/** Maps whose run times are kept: the most recently active (a map's id is never reused). */
const MAX_GROUPS = 256;

interface Group {
  times: Float64Array;
  count: number;
  next: number;
  /** NaN until computed since the last sample. */
  median: number;
}

/** Dispatch-to-result times of each hedged map's finished tasks: a bounded median estimator. */
export class RunTimes {
  readonly #groups = new Map<number, Group>();

  record(group: number, ms: number): void {
    let g = this.#groups.get(group);
    if (g) this.#groups.delete(group); // re-inserted below: the Map's order is recency
    else g = { times: new Float64Array(SAMPLES), count: 0, next: 0, median: Number.NaN };
    this.#groups.set(group, g);
    if (this.#groups.size > MAX_GROUPS) this.#groups.delete(this.#groups.keys().next().value!);
    g.times[g.next] = ms;
    g.next = (g.next + 1) % SAMPLES;
    if (g.count < SAMPLES) g.count++;
    g.median = Number.NaN;
  }

  /** The median of the map's recent run times, or undefined before HEDGE_MIN_SAMPLES. */
  median(group: number): number | undefined {
    const g = this.#groups.get(group);
    if (!g || g.count < HEDGE_MIN_SAMPLES) return undefined;
    if (Number.isNaN(g.median)) {
      const sorted = g.times.slice(0, g.count).sort();
      g.median = sorted[g.count >> 1]!;
    }
    return g.median;
  }
}

/**
 * Up to `max` running tasks to start again, longest-running first: hedged ones (a map id), not
 * withdrawn, not already running twice, not run alone as a suspect, running more than
 * HEDGE_FACTOR × their map's median.
 */
export function findStragglers(workers: Iterable<WorkerSlot>, now: number, runTimes: RunTimes, max: number): Task[] {
  const found: { task: Task; ran: number }[] = [];
  for (const w of workers) {
    if (w.isolated) continue;
    for (const task of w.inFlight.values()) {
      if (task.hedgeGroup === 0 || task.hedgeTwin || task.hedgeLoser || task.withdrawn || task.worker !== w) continue;
      const median = runTimes.median(task.hedgeGroup);
      const ran = now - task.dispatchedAt;
      if (median !== undefined && ran > HEDGE_FACTOR * median) found.push({ task, ran });
    }
  }
  found.sort((a, b) => b.ran - a.ran);
  return found.slice(0, max).map((f) => f.task);
}

const EMPTY_PAYLOAD = new Uint8Array(0);

/**
 * The scheduler's hedging: starts stragglers again on idle workers, and keeps a task run twice
 * consistent: the first result wins, the other run is left a stand-in (its result is dropped
 * quietly, counted in hedgeLost) and is to be cancelled; a death of either holder does not
 * requeue the task, since the other run goes on.
 */
export class Hedger {
  /** Some task submitted was hedged: only then does dispatch() look for stragglers. */
  active = false;
  /** Hedges started (a straggler run again on an idle worker). */
  hedged = 0;
  /** Results of runs that lost to their twin, dropped. */
  lost = 0;
  readonly #runTimes = new RunTimes();
  /** Runs that lost to their twin, to be cancelled at their worker: [worker, seq]. */
  #cancels: [WorkerSlot, number][] = [];

  /** Stragglers of hedged maps, started again on idle workers; call only when nothing waits. */
  dispatch(workers: Iterable<WorkerSlot>, plan: Map<WorkerSlot, Task[]>, now: number): void {
    const all = [...workers];
    const idle = all.filter((w) => w.credit > 0 && w.inFlight.size === 0 && !w.isolated && !w.draining && !plan.has(w));
    if (idle.length === 0) return;
    const stragglers = findStragglers(all, now, this.#runTimes, idle.length);
    for (let i = 0; i < stragglers.length; i++) {
      const task = stragglers[i]!;
      const w = idle[i]!;
      task.hedgeTwin = w;
      if (task.timeout > 0) w.timed++;
      w.lastHeard = now;
      w.inFlight.set(task.seq, task);
      w.credit--;
      this.hedged++;
      plan.set(w, [task]);
    }
  }

  /**
   * A hedged task's run on `w` is over (its result came, or it was stuck, `ok` false), and has
   * been taken out of w's inFlight. "lost": it was a stand-in, drop its result; "won": the task's
   * outcome is this one (its twin, if any, is left a stand-in to cancel).
   */
  finished(w: WorkerSlot, task: Task, now: number, ok = true): "won" | "lost" {
    if (task.hedgeLoser) {
      if (ok) this.lost++;
      return "lost";
    }
    if (ok && w === task.worker && !task.hedgeTwin && now > 0) this.#runTimes.record(task.hedgeGroup, now - task.dispatchedAt);
    if (task.hedgeTwin) this.#detachTwin(task, w, now);
    return "won";
  }

  /** Worker `w` is gone holding `task`: true if the task needs nothing (a stand-in, or its other run goes on). */
  holderLost(w: WorkerSlot, task: Task): boolean {
    if (task.hedgeLoser) return true;
    if (!task.hedgeTwin) return false;
    if (task.worker === w) task.worker = task.hedgeTwin;
    task.hedgeTwin = undefined;
    return true;
  }

  /** Runs that lost to their twin since the last call: each is to get a Cancel at its worker. */
  takeCancels(): [WorkerSlot, number][] {
    const cancels = this.#cancels;
    if (cancels.length > 0) this.#cancels = [];
    return cancels;
  }

  /** The other run of a task whose run on `winner` is over gets a stand-in, and is to be cancelled. */
  #detachTwin(task: Task, winner: WorkerSlot, now: number): void {
    const loser = winner === task.worker ? task.hedgeTwin! : task.worker!;
    const standIn = newTask(task.seq, task.id, task.fn, task.timeout, 0, EMPTY_PAYLOAD);
    standIn.hedgeGroup = task.hedgeGroup;
    standIn.hedgeLoser = true;
    standIn.withdrawn = true;
    standIn.worker = loser;
    standIn.dispatchedAt = task.dispatchedAt;
    standIn.startedAt = task.startedAt;
    standIn.cancelledAt = now;
    loser.inFlight.set(task.seq, standIn);
    task.worker = winner;
    task.hedgeTwin = undefined;
    this.#cancels.push([loser, task.seq]);
  }
}
