// Control messages between the caller and its local child processes, over Node's IPC channel,
// and the configuration each child is started with. Task traffic never goes here: it travels over
// ZeroMQ. This channel carries the start-up handshake, and its closing tells a child that its
// parent is gone (so no orphan lingers).
import type { RemoteError } from "./error-wire.js";
import type { CurveClientKeys, CurveServerKeys } from "./transport.js";

export type ParentMessage<Config> = { type: "start"; config: Config };

export type ChildMessage =
  | { type: "ready"; endpoint?: string } // broker: bound (endpoint: the remote one, port resolved); worker: setup() done and joined
  | { type: "fatal"; error: RemoteError } // start-up failed; the child exits next
  | { type: "recycling"; reason: string }; // worker: it reached maxTasksPerWorker or maxWorkerMemory; it drains and exits 0, to be replaced

export interface BrokerConfig {
  /** ipc endpoint the caller connects to. */
  frontend: string;
  /** ipc endpoint local workers connect to. */
  backend: string;
  maxAttempts: number;
  /** workerData, already MessagePack-encoded by the caller. */
  workerData: Uint8Array;
  /** ZMTP heartbeat interval and timeout towards workers, ms. */
  heartbeatInterval: number;
  heartbeatTimeout: number;
  /**
   * A worker holding a task with a timeout that stays silent this long past the timeout is stuck
   * (its own timer would have fired): it is dropped, and killed if it is local.
   */
  timeoutGrace: number;
  /** The endpoint for remote workers, if any. */
  remote?: RemoteConfig;
  /** At most `tasks` task starts in any `per` ms, across all workers. */
  rateLimit?: { tasks: number; per: number };
}

export interface RemoteConfig {
  /** Where to bind, e.g. "tcp://127.0.0.1:0" (any free port), or the resolved one on a restart. */
  endpoint: string;
  /** Server keys and allow-list; plain text when absent. */
  curve?: CurveServerKeys;
  /** Largest message accepted from a remote peer, bytes. */
  maxMessageSize: number;
  /** A non-loopback endpoint in plain text was asked for explicitly: warn. */
  insecure?: boolean;
}

export interface WorkerConfig {
  /** Broker backend endpoint. */
  connect: string;
  /** File URL of the handler module. */
  module: string;
  concurrency: number;
  heartbeatInterval: number;
  heartbeatTimeout: number;
  /** CurveZMQ client keys, for a broker endpoint that uses Curve. */
  curve?: CurveClientKeys;
  /** Cap of the reconnect backoff (from 100 ms, doubling), ms; absent = retry every 100 ms. */
  reconnectMaxInterval?: number;
  /** Sent in Hello and shown in the broker's stats (a remote worker's host name). */
  name?: string;
  /** Leave (drain, exit, be replaced) after running this many tasks. */
  maxTasks?: number;
  /** Leave (drain, exit, be replaced) once the process's RSS is above this many MiB. */
  maxMemoryMiB?: number;
}
