// The LoadBalancer's events: what each carries, and how the broker's Membership and Retried
// messages, the supervisor's view of local exits and broker restarts become them.
import { EventEmitter } from "node:events";
import { WorkerExitError } from "../shared/errors.js";
import type { MembershipEvent } from "../wire/stats.js";
import type { ProcessExit } from "./outcomes.js";

/** "workerJoin": a worker (local or remote) joined the broker and can take tasks. */
export interface WorkerJoinEvent {
  /** Its id, as in `stats().workers[].id`. */
  id: string;
  /** Its process id (on its own machine for a remote worker), when it said. */
  pid?: number;
  /** A remote `zerolb worker` (true) or a local child process (false). */
  remote: boolean;
  /** The name a remote worker gave (its host name). */
  name?: string;
}

/** "workerExit": a worker was taken out (it died, left, stopped answering, or was replaced). */
export interface WorkerExitEvent {
  /** Its id, as in `stats().workers[].id`. */
  id: string;
  /** Its process id (on its own machine for a remote worker), when known. */
  pid?: number;
  /** A remote `zerolb worker` (true) or a local child process (false). */
  remote: boolean;
  /** The name a remote worker gave (its host name). */
  name?: string;
  /** A local worker's exit code, when it exited (and had by the time the event was sent). */
  code?: number;
  /** The signal that ended a local worker ("SIGKILL"). */
  signal?: string;
  /** Why the broker took it out: "left", "was lost (its connection closed)", … */
  reason: string;
}

/**
 * "retry": a task runs again: its worker died holding it (`error` a WorkerExitError), or its
 * handler failed and it has `retries` left (`error` a TaskError or TimeoutError whose `cause` is
 * what the handler threw; the run starts after its retry delay).
 */
export interface RetryEvent {
  /** The task's id. */
  id: string;
  /** Its index in its map's input, if it is a map task. */
  index?: number;
  /** The run that starts now (2 for the first retry), as `ctx.attempt` will say. */
  attempt: number;
  /** Why the last run did not finish. */
  error: Error;
}

/** "brokerRestart": the broker process died or hung, and a new one has started. */
export interface BrokerRestartEvent {
  /** How the old one ended ("signal SIGKILL", "exit code 1"). */
  reason: string;
  /** Broker restarts so far, this one included. */
  restarts: number;
}

/** The events of a LoadBalancer and their arguments (for `lb.on(name, listener)`). */
export interface LoadBalancerEvents {
  /** A worker (local or remote) joined the broker and can take tasks. */
  workerJoin: [event: WorkerJoinEvent];
  /** A worker was taken out: it died, left, stopped answering or was replaced. */
  workerExit: [event: WorkerExitEvent];
  /** A task runs again: its worker died holding it, or its handler failed and it has `retries` left. */
  retry: [event: RetryEvent];
  /** The broker died or hung, and a new one has started. */
  brokerRestart: [event: BrokerRestartEvent];
}

/** How long a workerExit of a local worker waits for Node to report how the process ended. */
const EXIT_WAIT_MS = 1000;

/**
 * Emits without letting a listener's throw into zerolb's own message handling: it is thrown again
 * on its own, as an uncaught exception (what a throwing listener does in any emitter).
 */
export function emitSafely<K extends keyof LoadBalancerEvents>(emitter: EventEmitter<LoadBalancerEvents>, name: K, ...args: LoadBalancerEvents[K]): void {
  try {
    (emitter.emit as (name: K, ...args: LoadBalancerEvents[K]) => boolean)(name, ...args);
  } catch (err) {
    process.nextTick(() => {
      throw err;
    });
  }
}

/** A Membership message as an event: a local worker's exit waits (briefly) for its code or signal. */
export function emitMembership(emitter: EventEmitter<LoadBalancerEvents>, m: MembershipEvent, exitOf: (pid: number, waitMs: number) => Promise<ProcessExit | undefined>): void {
  const base = { id: m.id, remote: !m.local, ...(m.pid > 0 ? { pid: m.pid } : {}), ...(m.name !== undefined ? { name: m.name } : {}) };
  if (m.ev === "join") return emitSafely(emitter, "workerJoin", base);
  const reason = m.reason ?? "left";
  if (!m.local || m.pid <= 0) return emitSafely(emitter, "workerExit", { ...base, reason });
  void exitOf(m.pid, EXIT_WAIT_MS).then((exit) => {
    const how: { code?: number; signal?: string } = {};
    if (exit?.code !== null && exit?.code !== undefined) how.code = exit.code;
    if (exit?.signal) how.signal = exit.signal;
    emitSafely(emitter, "workerExit", { ...base, ...how, reason });
  });
}

/** The error a "retry" event carries: the worker died holding the task. */
export function retryError(task: { id: string; index: number }, attempt: number, why: string): WorkerExitError {
  return new WorkerExitError(`task ${task.id}'s run ${attempt - 1} did not finish: ${why}; it runs again`, {
    id: task.id, index: task.index >= 0 ? task.index : undefined, attempts: attempt - 1,
  });
}
