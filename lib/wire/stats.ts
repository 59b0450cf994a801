// The broker's counts as they travel to the caller (Stats and Results messages), and so as
// `lb.stats()` shows them: the one shape broker, caller and CLI share.
/** One worker as `lb.stats().workers` lists it. */
export interface WorkerInfo {
  /** Small number, in order of joining. */
  index: number;
  /** Its ZeroMQ routing id. */
  id: string;
  /** Its process id (on its own machine, for remote workers). */
  pid: number;
  /** A local child process (true) or a remote `zerolb worker` (false). */
  local: boolean;
  /** The name a remote worker gave in its Hello (its host name). */
  name?: string;
  /**
   * A remote worker's host and port ("10.0.0.5:43210"), as its side of the TCP connection reads
   * (`zerolb worker` on Linux says it in Ready); absent when unknown (ipc, another platform).
   */
  address?: string;
  /** Tasks it finished. */
  done: number;
  /** Tasks it holds now. */
  inFlight: number;
}

export interface BrokerStats {
  queued: number;
  /** Tasks waiting for the tasks named in their `after`. */
  waiting: number;
  /** Pipeline items with jobs still to run. */
  pipelineItems: number;
  inFlight: number;
  /** Runs repeated after a worker died holding the task (a death counted). */
  retried: number;
  /** Runs repeated after the handler threw, rejected or timed out (the task's `retries`). */
  retriedErrors: number;
  /** Tasks waiting for their retry delay. */
  retrying: number;
  failedByWorkerExit: number;
  timedOutStuck: number;
  workersKilled: number;
  duplicatesDropped: number;
  malformedDropped: number;
  workersLost: number;
  /** Remote connections refused at the handshake (key not allowed, no or wrong Curve, bad ZMTP). */
  refusedHandshakes: number;
  /** Stragglers started again on an idle worker (`hedge: true`). */
  hedged: number;
  /** Results of hedged runs that lost to their twin, dropped. */
  hedgeLost: number;
  /** Workers that reported a failed set-up (their setup() threw) in their Bye. */
  failedSetups: number;
  workers: WorkerInfo[];
}

/** A Membership message: a worker joined the broker (its first Ready) or was taken out. */
export interface MembershipEvent {
  ev: "join" | "exit";
  /** Its printable routing id, as in `WorkerInfo.id`. */
  id: string;
  /** Its pid (on its own machine for remote workers; 0 if it did not say). */
  pid: number;
  local: boolean;
  /** A remote worker's name from its Hello. */
  name?: string;
  /** For "exit": why it was taken out ("left", "was lost (its connection closed)", ...). */
  reason?: string;
}
