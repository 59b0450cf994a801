// Workers whose event loop is stuck, so they cannot answer for themselves: the broker's only way
// to free a pool from a synchronous handler that never returns. Pure: no sockets, no clocks.
import type { Task, WorkerSlot } from "./records.js";

export interface Wedged {
  worker: WorkerSlot;
  /** The tasks it is stuck on past their timeout: they fail with a TimeoutError. */
  timedOut: Task[];
  /** Why it counts as stuck, for logs. */
  why: string;
}

/**
 * A worker announces the start of every task with a timeout (see docs/protocol.md), so a task past
 * `timeout + graceMs` since its announced start, from a worker silent for `graceMs`, is stuck: it
 * fails with a TimeoutError. A worker silent for `graceMs` after a Cancel, whose possibly running
 * tasks (the first `concurrency` it holds, in the order it starts them) are all cancelled, is stuck
 * on cancelled work. Tasks that never started are never blamed. Each stuck task is handed to
 * `take` (the scheduler takes it out of the worker's hands); the broker then fails those tasks and
 * drops the worker (its other tasks are requeued).
 */
export function findStuck(workers: Iterable<WorkerSlot>, now: number, graceMs: number, take: (worker: WorkerSlot, task: Task) => void): Wedged[] {
  const out: Wedged[] = [];
  for (const w of workers) {
    if (now - w.lastHeard <= graceMs) continue;
    let timedOut: Task[] | undefined;
    let cancelled = false;
    for (const t of w.inFlight.values()) {
      if (t.startedAt > 0 && t.timeout > 0 && now - t.startedAt > t.timeout + graceMs) (timedOut ??= []).push(t);
      else if (t.cancelledAt > 0 && now - t.cancelledAt > graceMs) cancelled = true;
    }
    if (timedOut) {
      for (const t of timedOut) take(w, t);
      out.push({ worker: w, timedOut, why: "stuck past a task's timeout" });
    } else if (cancelled && runsOnlyCancelled(w)) {
      out.push({ worker: w, timedOut: [], why: "stuck on a cancelled task" });
    }
  }
  return out;
}

/** Whether every task `w` may be running now (its first `concurrency`, in start order) is withdrawn. */
function runsOnlyCancelled(w: WorkerSlot): boolean {
  const held = w.inFlight.values().sort((a, b) => a.dispatchOrder - b.dispatchOrder);
  for (let i = 0; i < held.length && i < w.concurrency; i++) if (!held[i]!.withdrawn) return false;
  return held.length > 0;
}
