// The records the broker keeps: a task from Submit to outcome (its opaque payload, a range of the
// message it came in; where it is; what it waits for), reused once finished; and a worker slot.
import type { SeqMap } from "../shared/seq-map.js";
import { Spares } from "../shared/spares.js";
import { NO_CONTROLS, type TaskControls } from "../wire/task-controls.js";

export interface Task {
  seq: number;
  /** Caller-chosen id ("" when generated from seq). */
  id: string;
  fn: string;
  /** Timeout in ms for one run; 0 = none. */
  timeout: number;
  /** Runs that ended with their worker dying (maxAttempts counts these). */
  deaths: number;
  /** Runs whose handler threw, rejected or timed out (the task's `retries` counts these). */
  failures: number;
  /** Retries, priority and batching, as the caller asked. */
  controls: TaskControls;
  /** When it is waiting for a retry: the clock time it may run again; else 0. */
  retryAt: number;
  /** The encoded input, opaque: bytes [payloadStart, payloadEnd) of `payload` (the message it came in, kept whole rather than viewed per task). */
  payload: Uint8Array;
  payloadStart: number;
  payloadEnd: number;
  /** Worker holding it while dispatched. */
  worker: WorkerSlot | undefined;
  /** Withdrawn by the caller: never dispatch; drop its result. */
  withdrawn: boolean;
  /** How the last worker that held it ended, for the WorkerExitError message. */
  lastExit: string;
  /** When it was last dispatched (the clock the broker passes to dispatch()). */
  dispatchedAt: number;
  /** Order of its last dispatch among all dispatches: a worker starts its tasks in this order. */
  dispatchOrder: number;
  /** When its worker announced that it started it (timed tasks only), or 0. */
  startedAt: number;
  /** When a Cancel for it went to its worker (withdrawn while dispatched), or 0. */
  cancelledAt: number;
  /** Dependencies not yet succeeded; the task waits (outside the queue, using no credit) until 0. */
  waitingOn: number;
  /** Tasks waiting on this one. */
  dependents: Task[] | undefined;
  /** For a pipeline job: its item's run (opaque to the scheduler) and the job's index. */
  item: unknown;
  job: number;
  /** hedge: the id of its map (whose median run time it is compared with); 0: never hedged. */
  hedgeGroup: number;
  /** A second worker running it too (a hedge), besides `worker`. */
  hedgeTwin: WorkerSlot | undefined;
  /** A stand-in left in a worker's inFlight for a run whose twin won: its result is dropped quietly. */
  hedgeLoser: boolean;
}

/** A fresh task record with nothing dispatched or waited on yet. */
export function newTask(
  seq: number, id: string, fn: string, timeout: number, deaths: number, payload: Uint8Array, payloadStart = 0, payloadEnd = payload.length,
  controls: TaskControls = NO_CONTROLS,
): Task {
  const task = spareTasks.take();
  if (!task) {
    return {
      seq, id, fn, timeout, deaths, failures: 0, controls, retryAt: 0, payload, payloadStart, payloadEnd, worker: undefined, withdrawn: false, lastExit: "", dispatchedAt: 0,
      dispatchOrder: 0, startedAt: 0, cancelledAt: 0, waitingOn: 0, dependents: undefined, item: undefined, job: -1,
      hedgeGroup: 0, hedgeTwin: undefined, hedgeLoser: false,
    };
  }
  task.timeout = timeout;
  task.payload = payload;
  task.payloadStart = payloadStart;
  task.payloadEnd = payloadEnd;
  task.job = -1;
  renewTask(task, seq, id, fn, deaths);
  task.controls = controls;
  return task;
}

/** Finished records kept for newTask() to reuse: a task costs the broker's collector nothing. */
const spareTasks = new Spares<Task>(4096);

/**
 * Takes back a finished task record that nothing refers to any more (its result has been copied
 * out, it has no dependents and is not a pipeline job), for newTask() to reuse.
 */
export function recycleTask(task: Task): void {
  if (!spareTasks.hasRoom) return;
  task.payload = NO_PAYLOAD;
  task.item = undefined;
  task.dependents = undefined;
  task.worker = undefined;
  spareTasks.give(task);
}

const NO_PAYLOAD = new Uint8Array(0);

/**
 * A finished task record made a fresh task again, keeping its payload range (a pipeline job whose
 * input is its parent's result, queued in that parent's record). Resets what newTask() sets.
 */
export function renewTask(task: Task, seq: number, id: string, fn: string, deaths = 0): Task {
  task.seq = seq;
  task.id = id;
  task.fn = fn;
  task.deaths = deaths;
  task.failures = 0;
  task.controls = NO_CONTROLS;
  task.retryAt = 0;
  task.worker = undefined;
  task.withdrawn = false;
  task.lastExit = "";
  task.dispatchedAt = 0;
  task.startedAt = 0;
  task.cancelledAt = 0;
  task.waitingOn = 0;
  task.dependents = undefined;
  task.hedgeGroup = 0;
  task.hedgeTwin = undefined;
  task.hedgeLoser = false;
  return task;
}

export interface WorkerSlot {
  readonly key: string;
  /** Small number for stats and result attribution. */
  readonly index: number;
  /** Tasks the worker has room for and has not been sent. */
  credit: number;
  readonly inFlight: SeqMap<Task>;
  done: number;
  /** Holds a task that was on a worker that died: it runs alone, so the next death is its own. */
  isolated: boolean;
  /** Gets no new ordinary task until it is idle, then runs suspects alone (see dispatch()). */
  draining: boolean;
  /** Tasks it runs at once (from its Hello). */
  concurrency: number;
  /** Last time it was heard from, or was handed work while idle. */
  lastHeard: number;
  /** In-flight tasks that have a timeout. */
  timed: number;
}
