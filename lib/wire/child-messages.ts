// Control messages between the caller and its local child processes, over Node's IPC channel.
// Task traffic never goes here: it travels over ZeroMQ. This channel carries the start-up
// handshake, and its closing tells a child that its parent is gone (so no orphan lingers).
import type { RemoteError } from "../shared/errors.js";

export type ParentMessage<Config> = { type: "start"; config: Config };

export type ChildMessage =
  | { type: "ready"; endpoint?: string } // broker: bound (endpoint: the remote one, port resolved); worker: setup() done and joined
  | { type: "fatal"; error: RemoteError }; // start-up failed; the child exits next
