// The broker's workers as peers: who said Hello on which backend, joining (Welcome, Ready),
// leaving (Bye), reconnecting, dying, being stuck; and what each is listed as in stats().
// What a worker's loss does to its tasks is the scheduler's decision; this file carries it out.
import { performance } from "node:perf_hooks";
import { logger } from "../shared/debug.js";
import { ProtocolError } from "../shared/errors.js";
import type { BrokerConfig } from "../wire/child-messages.js";
import type { Frames } from "../wire/outbox.js";
import { encodeHeader, Kind, PROTOCOL_VERSION, Status, type Header } from "../wire/protocol.js";
import type { MembershipEvent, WorkerInfo } from "../wire/stats.js";
import { printableId, type Backend, type Peer } from "./backend.js";
import type { Task, WorkerSlot } from "./records.js";
import type { Scheduler } from "./scheduler.js";

const log = logger("broker");

/** Longest worker name kept from a Hello. */
const MAX_NAME_LENGTH = 256;
/** How long a closing broker gives its Goodbyes to leave before it closes anyway. */
const GOODBYE_FLUSH_MS = 500;
/** Time given libzmq's I/O thread to write the Goodbyes handed to it before the process exits. */
const GOODBYE_WRITE_MS = 50;
/** Gone local workers listed in stats() (with what they did). */
const RETIRED_LISTED = 256;

/** What the workers' events need of the rest of the broker. */
export interface WorkersContext {
  readonly config: BrokerConfig;
  readonly scheduler: Scheduler;
  /** A task's outcome is final (a TimeoutError or WorkerExitError made here). */
  settle(task: Task, status: number, error: Uint8Array): void;
  /** Hand out what can be handed out. */
  dispatch(): void;
  /** Tell the caller these tasks lost their worker and were queued again, with their deaths so far and why. */
  retried(seq: number[], att: number[], why: string): void;
  /** Tell the caller a worker joined or was taken out. */
  membership(event: MembershipEvent): void;
  /** Something the caller's stats() shows changed. */
  statsDue(): void;
  /** Error data made by the broker itself. */
  errorInfo(name: string, message: string, extra?: Record<string, unknown>): Uint8Array;
  readonly counters: { failedByWorkerExit: number; timedOutStuck: number; workersKilled: number; workersLost: number; failedSetups: number };
}

export class Workers {
  readonly #c: WorkersContext;
  readonly #session: string;
  readonly #peers = new Map<string, Peer>();
  readonly #retired: WorkerInfo[] = [];
  /** Open connections to the remote endpoint, joined or not: the goodbye goes to each. */
  readonly #remoteConnections = new Map<string, Buffer>();

  constructor(context: WorkersContext, session: string) {
    this.#c = context;
    this.#session = session;
  }

  peer(key: string): Peer | undefined {
    return this.#peers.get(key);
  }

  /** Every worker for stats(): those joined, and local ones that are gone (with inFlight 0). */
  list(): WorkerInfo[] {
    const workers: WorkerInfo[] = [...this.#retired];
    for (const slot of this.#c.scheduler.workers) workers.push(this.#info(slot));
    return workers.sort((a, b) => a.index - b.index);
  }

  /**
   * A new connection, answered with Reset: a worker that was joined to a previous broker, or taken
   * for dead, learns at once that it must say Hello again (one whose Hello is on its way ignores
   * it). A known worker connecting again (it lost its connection and reconnected under the same
   * routing id, taking the old one over) is alive: what it held goes back to the queue without a
   * death counted, since whatever was on its way over the old connection may be lost; it rejoins.
   */
  connected(backend: Backend, id: Buffer, key: string): void {
    if (!backend.local) this.#remoteConnections.set(key, id);
    if (this.#peers.has(key)) this.lose(key, "it reconnected", false);
    this.reset(backend, id);
  }

  /** A worker's connection closed: it died, or the network or a heartbeat timeout cut it off. */
  disconnected(key: string): void {
    this.#remoteConnections.delete(key);
    if (this.#peers.has(key)) this.lose(key, "its connection closed");
  }

  /**
   * The LoadBalancer is closing for good: every connection to the remote endpoint, joined or not,
   * is told (Goodbye), so that its worker can tell this from a crash (it waits for the next
   * broker, or exits). Local workers are stopped by their LoadBalancer. Resolves when the
   * Goodbyes are on their way (at most GOODBYE_FLUSH_MS).
   */
  async goodbye(remote: Backend): Promise<void> {
    const told = new Map(this.#remoteConnections);
    for (const [key, peer] of this.#peers) if (!peer.backend.local) told.set(key, peer.id);
    if (told.size === 0) return;
    log("closing: saying goodbye to %d remote workers", told.size);
    for (const id of told.values()) remote.outbox.push([id, encodeHeader(Kind.Goodbye)]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([remote.outbox.onIdle(), new Promise((resolve) => (timer = setTimeout(resolve, GOODBYE_FLUSH_MS)))]);
    clearTimeout(timer);
    // Sent is queued in libzmq, not written: its I/O thread writes it to the TCP socket (whose
    // buffer outlives this process) at once, but nothing says when, and the process exits right
    // after closing (which discards libzmq's queues). A moment for it, and linger besides.
    await new Promise((resolve) => setTimeout(resolve, GOODBYE_WRITE_MS));
    remote.socket.linger = GOODBYE_FLUSH_MS;
  }

  hello(backend: Backend, id: Buffer, key: string, h: Header): void {
    // A joined worker that says Hello again is alive and starting afresh: no death to count.
    if (this.#peers.has(key)) this.lose(key, "it said Hello again", false);
    const pid = Number.isSafeInteger(h.pid) && (h.pid as number) > 0 ? (h.pid as number) : 0;
    const concurrency = Number.isSafeInteger(h.concurrency) && (h.concurrency as number) > 0 ? (h.concurrency as number) : 1;
    const name = typeof h.name === "string" && h.name.length > 0 ? h.name.slice(0, MAX_NAME_LENGTH) : undefined;
    this.#peers.set(key, { id, pid, backend, concurrency, name, multiFrame: h.mf === true });
    log("%s worker %s (pid %d%s) says hello", backend.local ? "local" : "remote", key, pid, name ? ` on ${name}` : "");
    backend.outbox.push([id, this.#welcome(backend), this.#c.config.workerData]);
  }

  ready(backend: Backend, id: Buffer, key: string, h: Header): void {
    const peer = this.#peers.get(key);
    if (!peer) return this.reset(backend, id);
    const credit = h.credit;
    if (!Number.isSafeInteger(credit) || (credit as number) < 0) throw new ProtocolError("credit is not a count");
    const joining = this.#c.scheduler.worker(key) === undefined;
    this.#c.scheduler.addWorker(key, peer.concurrency, performance.now());
    this.#c.scheduler.grant(key, credit as number);
    if (typeof h.address === "string" && h.address.length <= MAX_NAME_LENGTH) peer.address = h.address;
    if (joining) this.#c.membership({ ev: "join", ...this.#identity(key, peer) });
    log("worker %s ready with credit %d%s", key, credit, peer.address ? ` from ${peer.address}` : "");
    this.#c.statsDue();
    this.#c.dispatch();
  }

  /**
   * Bye: the worker is leaving. It has sent the results of what it ran; whatever it still holds
   * was not run and goes back to the queue without counting as a worker death. The Reset answers
   * it (the broker no longer knows this worker), so the worker knows its Bye arrived.
   */
  bye(backend: Backend, id: Buffer, key: string, unrun: readonly number[], error?: unknown): void {
    if (error !== undefined) this.#setupFailed(key, error);
    const slot = this.#c.scheduler.worker(key);
    if (slot) log("worker %s leaves, handing back %d tasks (it listed %d)", key, slot.inFlight.size, unrun.length);
    this.#retire(key, "left", false);
    this.reset(backend, id);
  }

  /** A worker's Bye carried an error: its set-up failed, and it is exiting. Logged and counted (stats().failedSetups). */
  #setupFailed(key: string, error: unknown): void {
    this.#c.counters.failedSetups++;
    const peer = this.#peers.get(key);
    const e = (typeof error === "object" && error !== null ? error : {}) as { name?: unknown; message?: unknown };
    const what = typeof e.message === "string" ? `${typeof e.name === "string" ? e.name : "Error"}: ${e.message}` : JSON.stringify(error);
    log("worker %s%s failed its set-up and leaves: %s", printableId(key), peer?.name ? ` on ${peer.name}` : "", what.slice(0, 2000));
    this.#c.statsDue();
  }

  /** A worker of another protocol version said Hello: tell it why it cannot join (it would wait forever). */
  refuse(backend: Backend, id: Buffer, version: unknown): void {
    const reason = `this broker speaks zerolb protocol version ${PROTOCOL_VERSION} and the worker version ${String(version)}: use the same zerolb release on both sides`;
    log("refused a worker %s: %s", id.toString("latin1"), reason);
    backend.outbox.push([id, encodeHeader(Kind.Refused, { reason })]);
  }

  reset(backend: Backend, id: Buffer): void {
    backend.outbox.push([id, encodeHeader(Kind.Reset)]);
  }

  /** The running tasks `seqs` of this worker were withdrawn: it lets them go (or never starts them). */
  cancel(slot: WorkerSlot, seqs: number[]): void {
    const peer = this.#peers.get(slot.key);
    if (peer) peer.backend.outbox.push([peer.id, encodeHeader(Kind.Cancel, { seq: seqs })]);
  }

  /** A send to this worker failed (mandatory ROUTER: it is gone). */
  unreachable(backend: Backend, err: unknown, frames: Frames): void {
    const key = backend.prefix + Buffer.from(frames[0] as Uint8Array).toString("latin1");
    log("worker %s unreachable: %s", key, (err as Error).message);
    this.lose(key, "it could not be reached");
  }

  /**
   * Workers whose event loop is stuck (see Scheduler.wedged): their stuck timed tasks fail with a
   * TimeoutError, the worker is dropped (its other tasks run elsewhere, no death counted) and, if
   * local, killed and replaced.
   */
  checkStuck(): void {
    const c = this.#c;
    for (const { worker, timedOut, why } of c.scheduler.wedged(performance.now(), c.config.timeoutGrace)) {
      for (const task of timedOut) {
        c.counters.timedOutStuck++;
        const message = `task ${task.id || task.seq} timed out after ${task.timeout} ms (its worker was stuck and has been replaced)`;
        c.settle(task, Status.Timeout, c.errorInfo("TimeoutError", message));
      }
      const peer = this.#peers.get(worker.key);
      this.lose(worker.key, why, false);
      if (!peer) continue;
      this.reset(peer.backend, peer.id);
      if (peer.backend.local && peer.pid > 0) {
        c.counters.workersKilled++;
        log("killing stuck worker %d (%s)", peer.pid, why);
        try {
          process.kill(peer.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  }

  /**
   * A worker is gone: its tasks run elsewhere, or fail if they have killed too many workers. With
   * `charge`, it may have died of one of them: each counts a death.
   */
  lose(key: string, why: string, charge = true): void {
    const slot = this.#c.scheduler.worker(key);
    if (!slot) {
      this.#peers.delete(key);
      return;
    }
    this.#c.counters.workersLost++;
    log("worker %s was lost (%s) holding %d tasks", key, why, slot.inFlight.size);
    const requeued = charge ? slot.inFlight.values() : [];
    const lostPid = this.#peers.get(key)?.pid;
    this.#retire(key, `was lost (${why})`, charge);
    // The caller keeps each task's death count, so a broker restarted later still knows it.
    const retried = requeued.filter((t) => t.worker === undefined && !t.withdrawn && t.deaths < this.#c.config.maxAttempts);
    if (retried.length > 0) this.#c.retried(retried.map((t) => t.seq), retried.map((t) => t.deaths), `worker ${lostPid || printableId(key)} was lost (${why})`);
  }

  /**
   * Takes a worker out: a local one stays listed (with what it did), its tasks go back to the queue
   * (a death counted against each when `charge`), those past `maxAttempts` fail, the rest is dispatched.
   */
  #retire(key: string, how: string, charge: boolean): void {
    const c = this.#c;
    const slot = c.scheduler.worker(key);
    const peer = this.#peers.get(key);
    this.#peers.delete(key);
    if (!slot) return;
    this.#c.membership({ ev: "exit", ...this.#identity(key, peer), reason: how });
    // A local worker that is gone stays listed with what it did (its slot's history, inFlight 0);
    // a remote one is listed from its handshake until it leaves.
    if (peer?.backend.local ?? !key.startsWith("r:")) {
      this.#retired.push({ ...this.#info(slot, peer), inFlight: 0 });
      if (this.#retired.length > RETIRED_LISTED) this.#retired.shift();
    }
    for (const task of c.scheduler.removeWorker(key, `worker ${peer?.pid ?? key} ${how}`, charge)) {
      c.counters.failedByWorkerExit++;
      const pid = peer?.pid;
      const message = `task ran ${task.deaths} times and its worker died each time; last: ${task.lastExit}`;
      c.settle(task, Status.WorkerExit, c.errorInfo("WorkerExitError", message, { attempts: task.deaths, lastExit: task.lastExit, ...(pid ? { pid } : {}) }));
    }
    c.statsDue();
    c.dispatch();
  }

  /**
   * Welcome's header: the session, how long a cancelled task's handler may take to let go before
   * its slot is freed (`grace`), and for remote workers the largest message this broker accepts
   * (so a worker fails a task whose result is larger, instead of being cut off for sending it).
   */
  #welcome(backend: Backend): Uint8Array {
    const { timeoutGrace, remote } = this.#c.config;
    // mf: this broker reads WorkerResults whose body comes in several frames.
    const fields: Record<string, unknown> = { session: this.#session, grace: timeoutGrace, mf: true };
    if (!backend.local && remote) fields.maxMessageSize = remote.maxMessageSize;
    return encodeHeader(Kind.Welcome, fields);
  }

  #identity(key: string, peer: Peer | undefined): Omit<MembershipEvent, "ev"> {
    const identity: Omit<MembershipEvent, "ev"> = { id: printableId(key), pid: peer?.pid ?? 0, local: peer?.backend.local ?? !key.startsWith("r:") };
    if (peer?.name !== undefined) identity.name = peer.name;
    return identity;
  }

  #info(slot: WorkerSlot, peer = this.#peers.get(slot.key)): WorkerInfo {
    const info: WorkerInfo = {
      index: slot.index, id: printableId(slot.key), pid: peer?.pid ?? 0, local: peer?.backend.local ?? !slot.key.startsWith("r:"), done: slot.done, inFlight: slot.inFlight.size,
    };
    if (peer?.name !== undefined) info.name = peer.name;
    if (peer?.address !== undefined) info.address = peer.address;
    return info;
  }
}
