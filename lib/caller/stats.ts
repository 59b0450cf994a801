// lb.stats(): the caller's exact counts merged with the broker's latest snapshot (which rides on
// result messages, so it is current whenever the caller has just received results).
import type { WorkerInfo } from "../wire/stats.js";
import type { Client } from "./client.js";
import type { Supervisor } from "./supervisor.js";

/** What `lb.stats()` returns. */
export interface Stats {
  /** Tasks waiting at the broker for a worker. */
  queued: number;
  /** Tasks sent with `after`, waiting for their dependencies. */
  waiting: number;
  /** Pipeline items with jobs still to run. */
  pipelineItems: number;
  /** Tasks dispatched to a worker and not finished. */
  inFlight: number;
  /** Tasks submitted since start. */
  submitted: number;
  /** Tasks that succeeded. */
  done: number;
  /** Tasks that failed (any reason, including timeouts and cancellation by close). */
  failed: number;
  /** Runs repeated because the task's worker died (a death counted; see `maxAttempts`). */
  retried: number;
  /** Runs repeated because the handler threw, rejected or timed out (see `retries`). */
  retriedErrors: number;
  /** Tasks waiting at the broker for their retry delay to pass. */
  retrying: number;
  /** Tasks that failed with a TimeoutError. */
  timedOut: number;
  /** Tasks withdrawn (abort, break, close). */
  cancelled: number;
  /** Results that arrived twice (a late result from a worker presumed dead) and were dropped. */
  duplicatesDropped: number;
  /** Malformed or unexpected messages dropped, at the broker and at the caller. */
  malformedDropped: number;
  /** Local worker processes restarted after dying. */
  workerRestarts: number;
  /** Local worker processes replaced after reaching `maxTasksPerWorker` or `maxWorkerMemory` (not crashes). */
  workersRecycled: number;
  /** Broker processes restarted after dying or hanging. */
  brokerRestarts: number;
  /** Remote connections refused at the handshake (Curve key not allowed, plain text against Curve, bad ZMTP). */
  refusedHandshakes: number;
  /** Stragglers started again on an idle worker (`hedge: true`): each is a task run twice at once. */
  hedged: number;
  /** Results of hedged runs that lost to their twin (dropped; the caller saw the winner's). */
  hedgeLost: number;
  /** Workers (remote ones, in practice) whose setup() threw, as they reported it before leaving. */
  failedSetups: number;
  /** Workers seen by the broker, local or remote, with what each has done and holds now. */
  workers: WorkerInfo[];
}

export function statsOf(client: Client, supervisor: Supervisor): Omit<Stats, "brokerRestarts"> {
  const c = client.counters;
  const b = client.brokerStats;
  const idle = client.outstanding === 0;
  return {
    queued: idle ? 0 : Math.min(b?.queued ?? 0, client.outstanding),
    inFlight: idle ? 0 : b?.inFlight ?? 0,
    waiting: idle ? 0 : Math.min(b?.waiting ?? 0, client.outstanding),
    pipelineItems: idle ? 0 : Math.min(b?.pipelineItems ?? 0, client.outstanding),
    submitted: c.submitted,
    done: c.succeeded,
    failed: c.failed,
    retried: b?.retried ?? 0,
    retriedErrors: b?.retriedErrors ?? 0,
    retrying: idle ? 0 : Math.min(b?.retrying ?? 0, client.outstanding),
    timedOut: c.timedOut,
    cancelled: c.cancelled,
    duplicatesDropped: c.duplicatesDropped + (b?.duplicatesDropped ?? 0),
    malformedDropped: c.malformedDropped + (b?.malformedDropped ?? 0),
    refusedHandshakes: b?.refusedHandshakes ?? 0,
    failedSetups: b?.failedSetups ?? 0,
    hedged: b?.hedged ?? 0,
    hedgeLost: b?.hedgeLost ?? 0,
    workerRestarts: supervisor.restarts,
    workersRecycled: supervisor.recycled,
    workers: (b?.workers ?? []).map((w) => ({ ...w, inFlight: idle ? 0 : w.inFlight })),
  };
}
