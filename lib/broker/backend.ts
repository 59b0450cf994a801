// A ROUTER that workers connect to (the local one on ipc, the remote one on the endpoint), its
// single writer, and the Tasks messages it sends.
import * as zmq from "zeromq";
import { BodyRanges } from "../wire/body-ranges.js";
import { Outbox, type Frames } from "../wire/outbox.js";
import { encodeHeader, Kind } from "../wire/protocol.js";
import { TaskBatchWriter } from "../wire/task-batch.js";
import { DISCONNECTED, NOTIFY_CONNECT, ZMQ_DISCONNECT_MSG, ZMQ_ROUTER_NOTIFY } from "../wire/transport.js";
import type { Task } from "./records.js";

/**
 * A ROUTER that tells of its peers' connections, through libzmq draft options zeromq.js has no
 * property for, defined the way its README shows ("Defining new options": a subclass whose
 * accessors use the socket's option setters). With `routerNotify: NOTIFY_CONNECT` and
 * `disconnectMessage: DISCONNECTED`, a new connection arrives as [routingId, <empty>] and a
 * closed one as [routingId, DISCONNECTED].
 */
export class NotifyingRouter extends zmq.Router {
  /** ZMQ_ROUTER_NOTIFY: which connection events arrive as messages. */
  set routerNotify(value: number) {
    this.setInt32Option(ZMQ_ROUTER_NOTIFY, value);
  }

  get routerNotify(): number {
    return this.getInt32Option(ZMQ_ROUTER_NOTIFY);
  }

  /** ZMQ_DISCONNECT_MSG: the message a peer's closed connection delivers (write-only in libzmq). */
  set disconnectMessage(value: string) {
    this.setStringOption(ZMQ_DISCONNECT_MSG, value);
  }
}

/** The options that make a NotifyingRouter tell of new and closed connections. */
export const NOTIFY_CONNECTIONS = { routerNotify: NOTIFY_CONNECT, disconnectMessage: DISCONNECTED } as const;

/** The disconnect message's frame, to compare with. */
export const DISCONNECT_FRAME = Buffer.from(DISCONNECTED, "latin1");

/** One ROUTER that workers connect to, its single writer and the Tasks messages planned for it. */
export interface Backend {
  readonly socket: zmq.Router;
  readonly outbox: Outbox;
  /** Workers on it run on this machine, as children of the caller. */
  readonly local: boolean;
  /** Prepended to routing ids to make scheduler keys, so the two sockets' ids never collide. */
  readonly prefix: string;
  planned: Frames[];
}

/** A worker that said Hello: where it is and what it said of itself. */
export interface Peer {
  id: Buffer;
  pid: number;
  backend: Backend;
  concurrency: number;
  name: string | undefined;
  /** It reads Tasks whose body comes in several frames (its Hello said `mf`): large inputs go as views, never joined. */
  multiFrame: boolean;
  /** Its side of the TCP connection, as a remote worker says in Ready ("host:port"). */
  address?: string;
}

/** Builds Tasks messages: the tasks' columns and a body of their payloads, never decoded. */
export class TasksWriter {
  readonly #writer = new TaskBatchWriter();
  /** Builds each message's body (take() empties it). */
  readonly #body = new BodyRanges();

  message(peer: Peer, tasks: readonly Task[]): Frames {
    const n = tasks.length;
    const len = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const t = tasks[i]!;
      len[i] = t.payloadEnd - t.payloadStart;
      this.#writer.add(t.seq, t.fn, t.timeout, t.deaths + t.failures + 1, t.id, t.controls);
      this.#body.add(t.payload, t.payloadStart, t.payloadEnd);
    }
    const header = encodeHeader(Kind.Tasks, this.#writer.take(len));
    return peer.multiFrame ? [peer.id, header, ...this.#body.takeFrames()] : [peer.id, header, this.#body.take()];
  }
}

/**
 * A worker's scheduler key as people read it: its routing id as it is when that is printable ASCII
 * (zerolb's workers name themselves `w<pid>-<hex>`), else in hex (libzmq makes up binary ids for
 * workers that set none), with "r:" in front for the remote endpoint's workers.
 */
export function printableId(key: string): string {
  const remote = key.startsWith("r:");
  const id = remote ? key.slice(2) : key;
  const shown = /^[\x21-\x7e]+$/.test(id) ? id : `0x${Buffer.from(id, "latin1").toString("hex")}`;
  return remote ? `r:${shown}` : shown;
}
