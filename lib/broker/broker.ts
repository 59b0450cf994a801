// The broker process's socket loop: a frontend ROUTER for the caller, a backend ROUTER for local
// workers (ipc) and, with an `endpoint`, a second backend ROUTER for remote workers (tcp, optionally
// CurveZMQ with a ZAP allow-list). It reads message headers, asks the scheduler what to do and
// sends what it says. It never decodes a task's input or result: payloads are sliced from incoming
// bodies and joined into outgoing ones. Workers of both backends share one scheduler, keyed by
// backend and routing id.
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import * as zmq from "zeromq";
import { encodeValue } from "../wire/codec.js";
import { logger } from "../shared/debug.js";
import { ProtocolError } from "../shared/errors.js";
import { serializeError } from "../wire/error-wire.js";
import { Outbox, type Frames } from "../wire/outbox.js";
import {
  at, BodyRanges, EMPTY, foreignHelloVersion, startedColumn, PROTOCOL_VERSION, readResultBatch, readTaskBatch, checkColumn, column, ColumnBuilder, decodeHeader, encodeHeader, Kind, seqColumn, Status,
  type Column, type Header,
} from "../wire/protocol.js";
import type { PipelineWire } from "../wire/protocol.js";
import { PipelineRuns } from "./pipeline-runs.js";
import { newTask, recycleTask, Scheduler, type Dispatch, type Task, type WorkerSlot } from "./scheduler.js";
import { DISCONNECTED, NOTIFY_CONNECT, routerOptions, ZMQ_DISCONNECT_MSG, ZMQ_ROUTER_NOTIFY } from "../wire/transport.js";
import { bindRemoteEndpoint } from "./remote-endpoint.js";
import { type RemoteConfig } from "../wire/child-messages.js";
import type { ZapHandler } from "./zap.js";
import type { BrokerConfig } from "../wire/child-messages.js";
import type { BrokerStats, WorkerInfo } from "../wire/stats.js";

const log = logger("broker");

/** The routing id of the caller's DEALER: the only peer the frontend takes messages from. */
const CALLER_ID = "caller";
/** A header frame larger than this from a worker is dropped unread. */
const MAX_HEADER_BYTES = 1 << 20;
/** Longest worker name kept from a Hello. */
const MAX_NAME_LENGTH = 256;
const DISCONNECT_FRAME = Buffer.from(DISCONNECTED, "latin1");

/** How often the broker looks for workers stuck past a task's timeout. */
const WEDGE_CHECK_MS = 200;
/** Stats ride on result messages at most this often (and always when the broker goes idle). */
const STATS_EVERY_MS = 250;

interface Peer {
  id: Buffer;
  pid: number;
  backend: Backend;
  concurrency: number;
  name: string | undefined;
}

/** One ROUTER that workers connect to, its single writer and the Tasks messages planned for it. */
interface Backend {
  readonly socket: zmq.Router;
  readonly outbox: Outbox;
  /** Workers on it run on this machine, as children of the caller. */
  readonly local: boolean;
  /** Prepended to routing ids to make scheduler keys, so the two sockets' ids never collide. */
  readonly prefix: string;
  planned: Frames[];
}

/** Results waiting to go to the caller, as columns. */
class ResultBatch {
  seq: number[] = [];
  st: number[] = [];
  len: number[] = [];
  readonly body = new BodyRanges();

  /** Result `seq`: bytes [start, end) of `buffer`. */
  add(seq: number, status: number, buffer: Uint8Array, start = 0, end = buffer.length): void {
    this.seq.push(seq);
    this.st.push(status);
    this.len.push(end - start);
    this.body.add(buffer, start, end);
  }

  /** Appends bytes [start, end) of `buffer` to the result added last. */
  extend(buffer: Uint8Array, start: number, end: number): void {
    this.len[this.len.length - 1]! += end - start;
    this.body.add(buffer, start, end);
  }
}

/**
 * A worker's scheduler key as people read it: its routing id as it is when that is printable ASCII
 * (zerolb's workers name themselves `w<pid>-<hex>`), else in hex (libzmq makes up binary ids for
 * workers that set none), with "r:" in front for the remote endpoint's workers.
 */
function printableId(key: string): string {
  const remote = key.startsWith("r:");
  const id = remote ? key.slice(2) : key;
  const shown = /^[\x21-\x7e]+$/.test(id) ? id : `0x${Buffer.from(id, "latin1").toString("hex")}`;
  return remote ? `r:${shown}` : shown;
}

/** Error data made by the broker itself (the caller rebuilds the class from `name` and the status). */
function errorInfo(name: string, message: string, extra: Record<string, unknown> = {}): Uint8Array {
  return encodeValue({ ...serializeError(new Error(message)), name, ...extra });
}

export class Broker {
  readonly #config: BrokerConfig;
  readonly #scheduler: Scheduler;
  readonly #pipelines = new PipelineRuns((task, first) => void this.#scheduler.submit(task, undefined, first));
  readonly #frontend: zmq.Router;
  readonly #toCaller: Outbox;
  readonly #local: Backend;
  #remote: Backend | undefined;
  #zap: ZapHandler | undefined;
  #endpoint: string | undefined;
  readonly #session = randomBytes(8).toString("hex");
  readonly #peers = new Map<string, Peer>();
  readonly #retired: WorkerInfo[] = [];
  /** The caller's routing id: fixed, so stats can reach it before it has said anything. */
  #callerId: Buffer | undefined = Buffer.from(CALLER_ID);
  #results = new ResultBatch();
  /** Builds each Tasks message's body (reused: take() empties it). */
  readonly #taskBody = new BodyRanges();
  #statsDue = false;
  #statsSentAt = 0;
  /** Sends the counts when STATS_EVERY_MS have passed since the last ones (one timer, not one per change). */
  #statsTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #wedgeTimer: NodeJS.Timeout | undefined;
  readonly #counters = {
    failedByWorkerExit: 0, timedOutStuck: 0, workersKilled: 0, duplicatesDropped: 0, malformedDropped: 0, workersLost: 0,
    refusedHandshakes: 0,
  };

  constructor(config: BrokerConfig) {
    this.#config = config;
    this.#scheduler = new Scheduler({ maxAttempts: config.maxAttempts });
    this.#frontend = new zmq.Router(routerOptions());
    this.#toCaller = new Outbox(this.#frontend, (err) => log("send to caller failed: %O", err), () => this.#produceResults());
    this.#local = this.#newBackend(
      new zmq.Router({ ...routerOptions(), heartbeatInterval: config.heartbeatInterval, heartbeatTimeout: config.heartbeatTimeout }),
      true,
      "",
    );
  }

  #newBackend(socket: zmq.Router, local: boolean, prefix: string): Backend {
    // A new connection arrives as [routingId, <empty>], a closed one as [routingId, DISCONNECTED].
    const options = socket as unknown as { setInt32Option(o: number, v: number): void; setStringOption(o: number, v: string): void };
    options.setInt32Option(ZMQ_ROUTER_NOTIFY, NOTIFY_CONNECT);
    options.setStringOption(ZMQ_DISCONNECT_MSG, DISCONNECTED);
    const backend: Backend = {
      socket, local, prefix, planned: [],
      outbox: new Outbox(socket, (err, frames) => this.#onWorkerUnreachable(backend, err, frames), () => this.#produceTasks(backend)),
    };
    return backend;
  }

  /** The remote endpoint actually bound (port resolved), once started. */
  get endpoint(): string | undefined {
    return this.#endpoint;
  }

  get stats(): BrokerStats {
    const workers: WorkerInfo[] = [...this.#retired];
    for (const slot of this.#scheduler.workers) workers.push(this.#workerInfo(slot));
    workers.sort((a, b) => a.index - b.index);
    return {
      queued: this.#scheduler.queued,
      waiting: this.#scheduler.waiting,
      pipelineItems: this.#pipelines.active,
      inFlight: this.#scheduler.inFlight,
      retried: this.#scheduler.retried,
      ...this.#counters,
      workers,
    };
  }

  async start(): Promise<{ endpoint?: string }> {
    await this.#frontend.bind(this.#config.frontend);
    await this.#local.socket.bind(this.#config.backend);
    log("bound frontend %s backend %s", this.#config.frontend, this.#config.backend);
    if (this.#config.remote) await this.#bindRemote(this.#config.remote);
    void this.#readFrontend();
    void this.#readBackend(this.#local);
    if (this.#remote) void this.#readBackend(this.#remote);
    this.#wedgeTimer = setInterval(() => this.#checkWedged(), WEDGE_CHECK_MS);
    this.#wedgeTimer.unref();
    return this.#endpoint === undefined ? {} : { endpoint: this.#endpoint };
  }

  async #bindRemote(remote: RemoteConfig): Promise<void> {
    const bound = await bindRemoteEndpoint(remote, this.#config, {
      beforeBind: (socket) => void (this.#remote = this.#newBackend(socket, false, "r:")),
      onRefusedHandshake: () => {
        this.#counters.refusedHandshakes++;
        this.#markStatsDue();
      },
    });
    this.#zap = bound.zap;
    this.#endpoint = bound.endpoint;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#wedgeTimer);
    clearTimeout(this.#statsTimer);
    this.#frontend.close();
    this.#local.socket.close();
    this.#remote?.socket.close();
    this.#zap?.close();
  }

  // ---- caller side -------------------------------------------------------------------------

  async #readFrontend(): Promise<void> {
    for await (const frames of this.#frontend) {
      try {
        this.#onCallerMessage(frames);
      } catch (err) {
        this.#malformed("caller", err);
      }
    }
  }

  #onCallerMessage(frames: Buffer[]): void {
    const [id, headerFrame, body] = frames;
    // With handover, what was still unread on a connection the caller replaced arrives under a
    // temporary routing id: stale, and covered by the Submit that reconciles the new connection.
    if (id?.toString("latin1") !== CALLER_ID) return;
    const header = decodeHeader(headerFrame);
    this.#callerId = id;
    switch (header.k) {
      case Kind.Submit:
        return this.#onSubmit(header, body);
      case Kind.Withdraw:
        return this.#onWithdraw(header);
      case Kind.DefinePipeline:
        if (!Number.isSafeInteger(header.id)) throw new ProtocolError("pipeline id is not an integer");
        this.#pipelines.define(header.id as number, header.pipeline as PipelineWire);
        return;
      case Kind.ForgetPipeline:
        if (!Number.isSafeInteger(header.id)) throw new ProtocolError("pipeline id is not an integer");
        this.#pipelines.forget(header.id as number);
        return;
      case Kind.StatsRequest:
        this.#toCaller.push([id!, encodeHeader(Kind.Stats, { stats: this.stats })]);
        return;
      default:
        throw new ProtocolError(`kind ${header.k} is not for the frontend`);
    }
  }

  /**
   * New tasks. A Submit with `sync` lists every task the caller has outstanding (it follows a
   * reconnect, or a broker restart): tasks this broker holds and the caller no longer wants are
   * withdrawn (their Withdraw was lost), tasks it holds are kept as they are, and tasks it has
   * finished run again (their results were lost on the way to the caller).
   */
  #onSubmit(h: Header, body: Buffer | undefined): void {
    const { seq, offsets, fn, to, att, id } = readTaskBatch(h, body);
    const n = seq.length;
    checkColumn(h, "pipe", n, "number");
    const pipe = h.pipe as Column<number> | undefined;
    const after = h.after;
    if (after !== undefined && (!Array.isArray(after) || after.length !== n)) throw new ProtocolError("after column does not match seq");
    const sync = h.sync === true;
    if (sync) this.#reconcile(new Set(seq));
    const bytes = body ?? EMPTY;
    for (let i = 0; i < n; i++) {
      const pipelineId = at(pipe, i, 0);
      if (pipelineId > 0) {
        if (this.#pipelines.holds(seq[i]!) || (!sync && this.#scheduler.isFinished(seq[i]!))) continue;
        this.#pipelines.start(seq[i]!, pipelineId, bytes, offsets[i]!, offsets[i + 1]!, at(to, i, 0), at(id, i, ""));
        continue;
      }
      const deps = after?.[i] as unknown;
      if (deps != null && (!Array.isArray(deps) || deps.some((d) => !Number.isSafeInteger(d)))) throw new ProtocolError("after holds a non-integer");
      const task = newTask(seq[i]!, at(id, i, ""), at(fn, i, ""), at(to, i, 0), at(att, i, 0), bytes, offsets[i], offsets[i + 1]);
      if (!this.#scheduler.submit(task, (deps as number[] | null) ?? undefined, false, sync)) recycleTask(task);
    }
    this.#dispatch();
  }

  /** The caller's outstanding tasks are `outstanding`: what this broker holds beyond them is withdrawn. */
  #reconcile(outstanding: Set<number>): void {
    const stale: number[] = [];
    for (const task of this.#scheduler.tasks()) if (!this.#pipelines.isJob(task.seq) && !outstanding.has(task.seq)) stale.push(task.seq);
    for (const item of this.#pipelines.itemSeqs()) if (!outstanding.has(item)) stale.push(item);
    this.#scheduler.forgetAwaitedExcept(outstanding);
    if (stale.length > 0) {
      log("the caller reconnected: withdrawing %d tasks it no longer has", stale.length);
      this.#withdrawAll(stale);
    }
  }

  #onWithdraw(h: Header): void {
    this.#withdrawAll(seqColumn(h));
    this.#markStatsDue();
    this.#dispatch();
  }

  /** Withdraws tasks and pipeline items (and their jobs) of the caller. */
  #withdrawAll(seqs: number[]): void {
    const jobs = seqs.flatMap((s) => this.#pipelines.withdraw(s));
    this.#withdraw(jobs.length > 0 ? [...seqs, ...jobs] : seqs);
  }

  /** Drops queued tasks; running ones get a Cancel at their worker (their results are ignored). */
  #withdraw(seqs: number[]): void {
    for (const [slot, running] of this.#scheduler.withdraw(seqs, performance.now())) {
      const peer = this.#peers.get(slot.key);
      if (peer) peer.backend.outbox.push([peer.id, encodeHeader(Kind.Cancel, { seq: running })]);
    }
  }

  #produceResults(): Frames | undefined {
    const batch = this.#results;
    if (!this.#callerId) return undefined;
    if (batch.seq.length === 0) {
      if (!this.#statsDue) return undefined;
      this.#statsDue = false;
      this.#statsSentAt = performance.now();
      return [this.#callerId, encodeHeader(Kind.Stats, { stats: this.stats })];
    }
    this.#results = new ResultBatch();
    const fields: Record<string, unknown> = { seq: batch.seq, st: column(batch.st), len: batch.len };
    // When the broker goes idle, the caller gets exact counts in the same message as the last result.
    const now = performance.now();
    if (this.#statsDue || now - this.#statsSentAt >= STATS_EVERY_MS || (this.#scheduler.queued === 0 && this.#scheduler.inFlight === 0)) {
      this.#statsDue = false;
      this.#statsSentAt = now;
      fields.stats = this.stats;
    }
    return [this.#callerId, encodeHeader(Kind.Results, fields), batch.body.take()];
  }

  #markStatsDue(): void {
    this.#statsDue = true;
    this.#toCaller.wake();
  }

  /**
   * Counts the caller shows changed (tasks dispatched while no results flow, say, so none carry
   * stats): they reach the caller within STATS_EVERY_MS, in one message however many changes.
   */
  #statsChanged(): void {
    if (this.#statsDue || this.#statsTimer || this.#closed) return;
    const wait = STATS_EVERY_MS - (performance.now() - this.#statsSentAt);
    if (wait <= 0) return this.#markStatsDue();
    this.#statsTimer = setTimeout(() => {
      this.#statsTimer = undefined;
      this.#markStatsDue();
    }, wait);
    this.#statsTimer.unref();
  }

  // ---- worker side -------------------------------------------------------------------------

  async #readBackend(backend: Backend): Promise<void> {
    for await (const frames of backend.socket) {
      try {
        this.#onWorkerMessage(backend, frames);
      } catch (err) {
        this.#malformed(backend.local ? "worker" : "remote worker", err);
      }
    }
  }

  #onWorkerMessage(backend: Backend, frames: Buffer[]): void {
    const [id, headerFrame, body] = frames;
    const key = backend.prefix + id!.toString("latin1");
    if (frames.length === 2 && headerFrame!.length === 0) return this.#onConnect(backend, id!, key);
    if (frames.length === 2 && headerFrame!.length === DISCONNECT_FRAME.length && headerFrame!.equals(DISCONNECT_FRAME)) return this.#onDisconnect(key);
    if (frames.length > 3) throw new ProtocolError(`a worker message has ${frames.length - 1} frames (at most 2)`);
    if (headerFrame!.length > MAX_HEADER_BYTES) throw new ProtocolError(`a header of ${headerFrame!.length} bytes (at most ${MAX_HEADER_BYTES})`);
    let header: Header;
    try {
      header = decodeHeader(headerFrame);
    } catch (err) {
      const version = foreignHelloVersion(headerFrame);
      if (version !== undefined) this.#refuse(backend, id!, version);
      throw err;
    }
    this.#scheduler.heard(key, performance.now());
    switch (header.k) {
      case Kind.Hello:
        return this.#onHello(backend, id!, key, header);
      case Kind.Ready:
        return this.#onReady(backend, id!, key, header);
      case Kind.WorkerResults:
        return this.#onWorkerResults(backend, id!, key, header, body);
      case Kind.Bye:
        return this.#onBye(backend, id!, key, header);
      default:
        throw new ProtocolError(`kind ${header.k} is not for the backend`);
    }
  }

  /**
   * A new connection, answered with Reset: a worker that was joined to a previous broker, or taken
   * for dead, learns at once that it must say Hello again (one whose Hello is on its way ignores
   * it). A known worker connecting again (it lost its connection and reconnected under the same
   * routing id, taking the old one over) is alive: what it held goes back to the queue without a
   * death counted, since whatever was on its way over the old connection may be lost; it rejoins.
   */
  #onConnect(backend: Backend, id: Buffer, key: string): void {
    if (this.#peers.has(key)) this.#lose(key, "it reconnected", false);
    this.#reset(backend, id);
  }

  /** A worker's connection closed: it died, or the network or a heartbeat timeout cut it off. */
  #onDisconnect(key: string): void {
    if (this.#peers.has(key)) this.#lose(key, "its connection closed");
  }

  #onHello(backend: Backend, id: Buffer, key: string, h: Header): void {
    // A joined worker that says Hello again is alive and starting afresh: no death to count.
    if (this.#peers.has(key)) this.#lose(key, "it said Hello again", false);
    const pid = Number.isSafeInteger(h.pid) && (h.pid as number) > 0 ? (h.pid as number) : 0;
    const concurrency = Number.isSafeInteger(h.concurrency) && (h.concurrency as number) > 0 ? (h.concurrency as number) : 1;
    const name = typeof h.name === "string" && h.name.length > 0 ? h.name.slice(0, MAX_NAME_LENGTH) : undefined;
    this.#peers.set(key, { id, pid, backend, concurrency, name });
    log("%s worker %s (pid %d%s) says hello", backend.local ? "local" : "remote", key, pid, name ? ` on ${name}` : "");
    backend.outbox.push([id, this.#welcome(backend), this.#config.workerData]);
  }

  /**
   * Welcome's header: the session, how long a cancelled task's handler may take to let go before
   * its slot is freed (`grace`), and for remote workers the largest message this broker accepts
   * (so a worker fails a task whose result is larger, instead of being cut off for sending it).
   */
  #welcome(backend: Backend): Uint8Array {
    const fields: Record<string, unknown> = { session: this.#session, grace: this.#config.timeoutGrace };
    if (!backend.local && this.#config.remote) fields.maxMessageSize = this.#config.remote.maxMessageSize;
    return encodeHeader(Kind.Welcome, fields);
  }

  #onReady(backend: Backend, id: Buffer, key: string, h: Header): void {
    if (!this.#peers.has(key)) return this.#reset(backend, id);
    const credit = h.credit;
    if (!Number.isSafeInteger(credit) || (credit as number) < 0) throw new ProtocolError("credit is not a count");
    this.#scheduler.addWorker(key, this.#peers.get(key)!.concurrency, performance.now());
    this.#scheduler.grant(key, credit as number);
    log("worker %s ready with credit %d", key, credit);
    this.#markStatsDue();
    this.#dispatch();
  }

  #onWorkerResults(backend: Backend, id: Buffer, key: string, h: Header, body: Buffer | undefined): void {
    const slot = this.#scheduler.worker(key);
    if (!slot) {
      // A worker we dropped (presumed dead) is back with late results: they were run elsewhere.
      for (const s of seqColumn(h)) if (this.#scheduler.isFinished(s)) this.#counters.duplicatesDropped++;
      return this.#reset(backend, id);
    }
    const { seq, offsets, st } = readResultBatch(h, body);
    const n = seq.length;
    const bytes = body ?? EMPTY;
    if (h.started !== undefined) this.#scheduler.started(key, startedColumn(h), performance.now());
    for (let i = 0; i < n; i++) {
      const status = at(st, i, Status.Error);
      const verdict = this.#scheduler.result(key, seq[i]!, status === Status.Ok);
      if (typeof verdict === "object") {
        this.#settle(verdict, status, bytes, offsets[i]!, offsets[i + 1]!);
        // A plain task that succeeded is done with: nothing refers to it (a failed one may be
        // named in its dependents' errors; pipeline jobs' records live on in their item's run).
        if (status === Status.Ok && !this.#pipelines.isJob(verdict.seq)) recycleTask(verdict);
      } else if (verdict === "duplicate") this.#counters.duplicatesDropped++;
      else if (verdict === "not-held") this.#counters.malformedDropped++;
    }
    if (typeof h.credit === "number" && h.credit > 0) this.#scheduler.grant(key, h.credit);
    this.#toCaller.wake();
    this.#dispatch();
  }

  /**
   * Bye: the worker is leaving. It has sent the results of what it ran; whatever it still holds
   * was not run and goes back to the queue without counting as a worker death. The Reset answers
   * it (the broker no longer knows this worker), so the worker knows its Bye arrived.
   */
  #onBye(backend: Backend, id: Buffer, key: string, h: Header): void {
    const unrun = seqColumn(h);
    const slot = this.#scheduler.worker(key);
    if (slot) log("worker %s leaves, handing back %d tasks (it listed %d)", key, slot.inFlight.size, unrun.length);
    this.#retire(key, "left", false);
    this.#reset(backend, id);
  }

  /** A worker of another protocol version said Hello: tell it why it cannot join (it would wait forever). */
  #refuse(backend: Backend, id: Buffer, version: unknown): void {
    const reason = `this broker speaks zerolb protocol version ${PROTOCOL_VERSION} and the worker version ${String(version)}: use the same zerolb release on both sides`;
    log("refused a worker %s: %s", id.toString("latin1"), reason);
    backend.outbox.push([id, encodeHeader(Kind.Refused, { reason })]);
  }

  #reset(backend: Backend, id: Buffer): void {
    backend.outbox.push([id, encodeHeader(Kind.Reset)]);
  }

  #onWorkerUnreachable(backend: Backend, err: unknown, frames: Frames): void {
    const key = backend.prefix + Buffer.from(frames[0] as Uint8Array).toString("latin1");
    log("worker %s unreachable: %s", key, (err as Error).message);
    this.#lose(key, "it could not be reached");
  }

  /**
   * Workers whose event loop is stuck (see Scheduler.wedged): their stuck timed tasks fail with a
   * TimeoutError, the worker is dropped (its other tasks run elsewhere, no death counted) and, if
   * local, killed and replaced.
   */
  #checkWedged(): void {
    const stuck = this.#scheduler.wedged(performance.now(), this.#config.timeoutGrace);
    for (const { worker, timedOut, why } of stuck) {
      for (const task of timedOut) {
        this.#counters.timedOutStuck++;
        const message = `task ${task.id || task.seq} timed out after ${task.timeout} ms (its worker was stuck and has been replaced)`;
        this.#settle(task, Status.Timeout, errorInfo("TimeoutError", message));
      }
      const peer = this.#peers.get(worker.key);
      this.#lose(worker.key, why, false);
      if (peer) {
        this.#reset(peer.backend, peer.id);
        if (peer.backend.local && peer.pid > 0) {
          this.#counters.workersKilled++;
          log("killing stuck worker %d (%s)", peer.pid, why);
          try {
            process.kill(peer.pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
      }
    }
    if (stuck.length > 0) this.#toCaller.wake();
  }

  /** A worker is gone: its tasks run elsewhere, or fail if they have killed too many workers. */
  #lose(key: string, why: string, charge = true): void {
    const slot = this.#scheduler.worker(key);
    if (!slot) {
      this.#peers.delete(key);
      return;
    }
    this.#counters.workersLost++;
    log("worker %s was lost (%s) holding %d tasks", key, why, slot.inFlight.size);
    const requeued = charge ? [...slot.inFlight.values()] : [];
    this.#retire(key, `was lost (${why})`, charge);
    // The caller keeps each task's death count, so a broker restarted later still knows it.
    const retried = requeued.filter((t) => t.worker === undefined && !t.withdrawn && t.deaths < this.#config.maxAttempts);
    this.#markStatsDue();
    if (retried.length > 0 && this.#callerId) {
      this.#toCaller.push([this.#callerId, encodeHeader(Kind.Retried, { seq: retried.map((t) => t.seq), att: retried.map((t) => t.deaths) })]);
    }
  }

  /**
   * Takes a worker out: it joins the retired list (for stats), its tasks go back to the queue (a
   * death counted against each when `charge`), those past `maxAttempts` fail, the rest is dispatched.
   */
  #retire(key: string, how: string, charge: boolean): void {
    const slot = this.#scheduler.worker(key);
    const peer = this.#peers.get(key);
    this.#peers.delete(key);
    if (!slot) return;
    // A local worker that is gone stays listed with what it did (its slot's history, inFlight 0);
    // a remote one is listed from its handshake until it leaves.
    if (peer?.backend.local ?? !key.startsWith("r:")) {
      this.#retired.push({ ...this.#workerInfo(slot, peer), inFlight: 0 });
      if (this.#retired.length > 256) this.#retired.shift();
    }
    for (const task of this.#scheduler.removeWorker(key, `worker ${peer?.pid ?? key} ${how}`, charge)) this.#failWorkerExit(task, peer?.pid);
    this.#markStatsDue();
    this.#dispatch();
  }

  #failWorkerExit(task: Task, pid: number | undefined): void {
    this.#counters.failedByWorkerExit++;
    const message = `task ran ${task.deaths} times and its worker died each time; last: ${task.lastExit}`;
    this.#settle(task, Status.WorkerExit, errorInfo("WorkerExitError", message, { attempts: task.deaths, lastExit: task.lastExit, ...(pid ? { pid } : {}) }));
  }

  /**
   * A task's outcome, bytes [start, end) of `buffer`, is final: to the caller (as a range of that
   * buffer: no view of its own), or (a pipeline job) to its item.
   */
  #settle(task: Task, status: number, buffer: Uint8Array, start = 0, end = buffer.length): void {
    if (this.#pipelines.isJob(task.seq)) {
      const outcome = this.#pipelines.jobFinished(task, status, buffer, start, end);
      if (!outcome) return;
      if (outcome.withdraw.length > 0) this.#withdraw(outcome.withdraw);
      if (outcome.bytes) this.#results.add(outcome.seq, outcome.status, outcome.bytes);
      else this.#pipelines.writeResult(outcome, this.#results);
    } else {
      this.#results.add(task.seq, status, buffer, start, end);
    }
    this.#toCaller.wake();
  }

  /** Tasks that will not run because a task they were after did not succeed. */
  #settleDependencyFailures(): void {
    for (let failures = this.#scheduler.takeDependencyFailures(); failures.length > 0; failures = this.#scheduler.takeDependencyFailures()) {
      for (const { task, because } of failures) {
        const dep = typeof because === "number" ? this.#scheduler.failedId(because) || String(because) : because.id || String(because.seq);
        const message = `task ${task.id || task.seq} did not run: task ${dep} it depends on did not succeed`;
        if (!this.#pipelines.isJob(task.seq)) log("dependency failure: %s", message);
        this.#settle(task, Status.Dependency, errorInfo("DependencyError", message, { dependency: dep }));
      }
    }
  }

  /**
   * Tasks are assigned when the backend socket is free, not on every event: whatever became ready
   * in the meantime leaves as one message per worker.
   */
  #dispatch(): void {
    this.#settleDependencyFailures();
    this.#statsChanged();
    this.#local.outbox.wake();
    this.#remote?.outbox.wake();
  }

  /** Next Tasks message for this backend; plans a new round of dispatch when its list is empty. */
  #produceTasks(backend: Backend): Frames | undefined {
    if (backend.planned.length === 0) {
      for (const d of this.#scheduler.dispatch(performance.now())) {
        const peer = this.#peers.get(d.worker.key);
        if (peer) peer.backend.planned.push(this.#tasksMessage(peer, d));
      }
      const other = backend === this.#local ? this.#remote : this.#local;
      if (other && other.planned.length > 0) other.outbox.wake();
    }
    return backend.planned.shift();
  }

  #tasksMessage(peer: Peer, { tasks }: Dispatch): Frames {
    const n = tasks.length;
    const seq = new Array<number>(n);
    const len = new Array<number>(n);
    const fn = new ColumnBuilder<string>();
    const att = new ColumnBuilder<number>();
    const to = new ColumnBuilder<number>();
    const ids = new ColumnBuilder<string>();
    const body = this.#taskBody;
    for (let i = 0; i < n; i++) {
      const t = tasks[i]!;
      seq[i] = t.seq;
      len[i] = t.payloadEnd - t.payloadStart;
      fn.push(t.fn);
      att.push(t.deaths + 1);
      to.push(t.timeout);
      ids.push(t.id);
      body.add(t.payload, t.payloadStart, t.payloadEnd);
    }
    const header = encodeHeader(Kind.Tasks, { seq, len, fn: fn.take(), att: att.take(), to: to.take(), id: ids.take() });
    return [peer.id, header, body.take()];
  }

  #workerInfo(slot: WorkerSlot, peer = this.#peers.get(slot.key)): WorkerInfo {
    const info: WorkerInfo = {
      index: slot.index, id: printableId(slot.key), pid: peer?.pid ?? 0, local: peer?.backend.local ?? !slot.key.startsWith("r:"), done: slot.done, inFlight: slot.inFlight.size,
    };
    if (peer?.name !== undefined) info.name = peer.name;
    return info;
  }

  #malformed(from: string, err: unknown): void {
    this.#counters.malformedDropped++;
    this.#statsChanged();
    log("dropped a malformed message from the %s: %s", from, (err as Error).message);
  }
}
