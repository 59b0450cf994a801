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
 * Sets libzmq draft options zeromq.js has no property for, the way its README shows ("Defining new
 * options": a subclass using the socket's option setters): a new connection then arrives as
 * [routingId, <empty>], a closed one as [routingId, DISCONNECTED].
 */
export function notifyConnections(socket: zmq.Router): void {
  const options = socket as unknown as { setInt32Option(o: number, v: number): void; setStringOption(o: number, v: string): void };
  options.setInt32Option(ZMQ_ROUTER_NOTIFY, NOTIFY_CONNECT);
  options.setStringOption(ZMQ_DISCONNECT_MSG, DISCONNECTED);
}

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
      this.#writer.add(t.seq, t.fn, t.timeout, t.deaths + 1, t.id);
      this.#body.add(t.payload, t.payloadStart, t.payloadEnd);
    }
    return [peer.id, encodeHeader(Kind.Tasks, this.#writer.take(len)), this.#body.take()];
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
