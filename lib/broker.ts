// The broker process's socket loop: a frontend ROUTER for the caller, a backend ROUTER for workers.
// It reads message headers, asks the scheduler what to do and sends what it says. It never decodes
// a task's input or result: payloads are sliced from incoming bodies and joined into outgoing ones.
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import * as zmq from "zeromq";
import { encodeValue } from "./codec.js";
import { logger } from "./debug.js";
import { ProtocolError, serializeError } from "./errors.js";
import { Outbox, type Frames } from "./outbox.js";
import {
  at, bodyOffsets, checkColumn, column, decodeHeader, encodeHeader, joinBody, Kind, seqColumn, Status,
  type Column, type Header,
} from "./protocol.js";
import { Scheduler, type Dispatch, type Task, type WorkerSlot } from "./scheduler.js";
import { routerOptions, ZMQ_ROUTER_NOTIFY, NOTIFY_CONNECT_DISCONNECT } from "./transport.js";

const log = logger("broker");

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
}

/** How often the broker looks for workers stuck past a task's timeout. */
const WEDGE_CHECK_MS = 200;
/** Stats ride on result messages at most this often (and always when the broker goes idle). */
const STATS_EVERY_MS = 250;

export interface WorkerInfo {
  index: number;
  id: string;
  pid: number;
  local: boolean;
  done: number;
  inFlight: number;
}

export interface BrokerStats {
  queued: number;
  inFlight: number;
  retried: number;
  failedByWorkerExit: number;
  timedOutStuck: number;
  workersKilled: number;
  duplicatesDropped: number;
  malformedDropped: number;
  workersLost: number;
  workers: WorkerInfo[];
}

interface Peer {
  id: Buffer;
  pid: number;
  local: boolean;
  concurrency: number;
}

/** Results waiting to go to the caller, as columns. */
class ResultBatch {
  seq: number[] = [];
  st: number[] = [];
  w: number[] = [];
  att: number[] = [];
  parts: Uint8Array[] = [];

  add(seq: number, status: number, worker: number, attempt: number, value: Uint8Array): void {
    this.seq.push(seq);
    this.st.push(status);
    this.w.push(worker);
    this.att.push(attempt);
    this.parts.push(value);
  }
}

export class Broker {
  readonly #config: BrokerConfig;
  readonly #scheduler: Scheduler;
  readonly #frontend: zmq.Router;
  readonly #backend: zmq.Router;
  readonly #toCaller: Outbox;
  readonly #toWorkers: Outbox;
  readonly #session = randomBytes(8).toString("hex");
  readonly #peers = new Map<string, Peer>();
  readonly #retired: WorkerInfo[] = [];
  #callerId: Buffer | undefined;
  #results = new ResultBatch();
  #statsDue = false;
  #statsSentAt = 0;
  #closed = false;
  #wedgeTimer: NodeJS.Timeout | undefined;
  readonly #counters = {
    failedByWorkerExit: 0, timedOutStuck: 0, workersKilled: 0, duplicatesDropped: 0, malformedDropped: 0, workersLost: 0,
  };

  constructor(config: BrokerConfig) {
    this.#config = config;
    this.#scheduler = new Scheduler({ maxAttempts: config.maxAttempts });
    this.#frontend = new zmq.Router(routerOptions());
    this.#backend = new zmq.Router({
      ...routerOptions(),
      heartbeatInterval: config.heartbeatInterval,
      heartbeatTimeout: config.heartbeatTimeout,
    });
    // Connect and disconnect of each worker arrive as [routingId, <empty>].
    (this.#backend as unknown as { setInt32Option(o: number, v: number): void }).setInt32Option(ZMQ_ROUTER_NOTIFY, NOTIFY_CONNECT_DISCONNECT);
    this.#toCaller = new Outbox(this.#frontend, (err) => log("send to caller failed: %O", err), () => this.#produceResults());
    this.#toWorkers = new Outbox(this.#backend, (err, frames) => this.#onWorkerUnreachable(err, frames));
  }

  get stats(): BrokerStats {
    const workers: WorkerInfo[] = [...this.#retired];
    for (const slot of this.#scheduler.workers) workers.push(this.#workerInfo(slot));
    workers.sort((a, b) => a.index - b.index);
    return {
      queued: this.#scheduler.queued,
      inFlight: this.#scheduler.inFlight,
      retried: this.#scheduler.retried,
      ...this.#counters,
      workers,
    };
  }

  async start(): Promise<void> {
    await this.#frontend.bind(this.#config.frontend);
    await this.#backend.bind(this.#config.backend);
    log("bound frontend %s backend %s", this.#config.frontend, this.#config.backend);
    void this.#readFrontend();
    void this.#readBackend();
    this.#wedgeTimer = setInterval(() => this.#checkWedged(), WEDGE_CHECK_MS);
    this.#wedgeTimer.unref();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#wedgeTimer);
    this.#frontend.close();
    this.#backend.close();
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
    const header = decodeHeader(headerFrame);
    this.#callerId = id;
    switch (header.k) {
      case Kind.Submit:
        return this.#onSubmit(header, body);
      case Kind.Withdraw:
        return this.#onWithdraw(header);
      case Kind.StatsRequest:
        this.#toCaller.push([id!, encodeHeader(Kind.Stats, { stats: this.stats })]);
        return;
      default:
        throw new ProtocolError(`kind ${header.k} is not for the frontend`);
    }
  }

  #onSubmit(h: Header, body: Buffer | undefined): void {
    const seq = seqColumn(h);
    const n = seq.length;
    const offsets = bodyOffsets(h, n, body);
    checkColumn(h, "fn", n, "string");
    checkColumn(h, "to", n, "number");
    checkColumn(h, "att", n, "number");
    checkColumn(h, "id", n, "string");
    const id = h.id as Column<string> | undefined;
    const fn = h.fn as Column<string> | undefined;
    const to = h.to as Column<number> | undefined;
    const att = h.att as Column<number> | undefined;
    for (let i = 0; i < n; i++) {
      this.#scheduler.submit({
        seq: seq[i]!,
        id: at(id, i, ""),
        fn: at(fn, i, ""),
        timeout: at(to, i, 0),
        deaths: at(att, i, 0),
        payload: body!.subarray(offsets[i], offsets[i + 1]),
        worker: undefined,
        withdrawn: false,
        lastExit: "",
        dispatchedAt: 0,
      });
    }
    this.#dispatch();
  }

  #onWithdraw(h: Header): void {
    const running = this.#scheduler.withdraw(seqColumn(h));
    for (const [slot, seqs] of running) {
      const peer = this.#peers.get(slot.key);
      if (peer) this.#toWorkers.push([peer.id, encodeHeader(Kind.Cancel, { seq: seqs })]);
    }
    this.#markStatsDue();
  }

  #produceResults(): Frames | undefined {
    const batch = this.#results;
    if (!this.#callerId) return undefined;
    if (batch.seq.length === 0) {
      if (!this.#statsDue) return undefined;
      this.#statsDue = false;
      return [this.#callerId, encodeHeader(Kind.Stats, { stats: this.stats })];
    }
    this.#results = new ResultBatch();
    const parts = batch.parts;
    const fields: Record<string, unknown> = {
      seq: batch.seq,
      st: column(batch.st),
      len: parts.map((p) => p.length),
      w: column(batch.w),
      att: column(batch.att),
    };
    // When the broker goes idle, the caller gets exact counts in the same message as the last result.
    const now = performance.now();
    if (this.#statsDue || now - this.#statsSentAt >= STATS_EVERY_MS || (this.#scheduler.queued === 0 && this.#scheduler.inFlight === 0)) {
      this.#statsDue = false;
      this.#statsSentAt = now;
      fields.stats = this.stats;
    }
    return [this.#callerId, encodeHeader(Kind.Results, fields), joinBody(parts)];
  }

  #markStatsDue(): void {
    this.#statsDue = true;
    this.#toCaller.wake();
  }

  // ---- worker side -------------------------------------------------------------------------

  async #readBackend(): Promise<void> {
    for await (const frames of this.#backend) {
      try {
        this.#onWorkerMessage(frames);
      } catch (err) {
        this.#malformed("worker", err);
      }
    }
  }

  #onWorkerMessage(frames: Buffer[]): void {
    const [id, headerFrame, body] = frames;
    const key = id!.toString("latin1");
    if (frames.length === 2 && headerFrame!.length === 0) return this.#onNotify(key);
    const header = decodeHeader(headerFrame);
    this.#scheduler.heard(key, performance.now());
    switch (header.k) {
      case Kind.Hello:
        return this.#onHello(id!, key, header);
      case Kind.Ready:
        return this.#onReady(id!, key, header);
      case Kind.WorkerResults:
        return this.#onWorkerResults(id!, key, header, body);
      default:
        throw new ProtocolError(`kind ${header.k} is not for the backend`);
    }
  }

  /** ROUTER_NOTIFY: a connect (ignored; the worker says Hello) or a disconnect of a known worker. */
  #onNotify(key: string): void {
    if (this.#scheduler.worker(key) || this.#peers.has(key)) this.#lose(key, "its connection closed");
  }

  #onHello(id: Buffer, key: string, h: Header): void {
    if (this.#scheduler.worker(key)) this.#lose(key, "it said Hello again");
    const pid = typeof h.pid === "number" ? h.pid : 0;
    const concurrency = Number.isSafeInteger(h.concurrency) && (h.concurrency as number) > 0 ? (h.concurrency as number) : 1;
    this.#peers.set(key, { id, pid, local: true, concurrency });
    log("worker %s (pid %d) says hello", key, pid);
    this.#toWorkers.push([id, encodeHeader(Kind.Welcome, { session: this.#session }), this.#config.workerData]);
  }

  #onReady(id: Buffer, key: string, h: Header): void {
    if (!this.#peers.has(key)) return this.#reset(id);
    const credit = h.credit;
    if (!Number.isSafeInteger(credit) || (credit as number) < 0) throw new ProtocolError("credit is not a count");
    this.#scheduler.addWorker(key, this.#peers.get(key)!.concurrency, performance.now());
    this.#scheduler.grant(key, credit as number);
    log("worker %s ready with credit %d", key, credit);
    this.#markStatsDue();
    this.#dispatch();
  }

  #onWorkerResults(id: Buffer, key: string, h: Header, body: Buffer | undefined): void {
    const slot = this.#scheduler.worker(key);
    if (!slot) {
      // A worker we dropped (presumed dead) is back with late results: they were run elsewhere.
      for (const s of seqColumn(h)) if (this.#scheduler.isFinished(s)) this.#counters.duplicatesDropped++;
      return this.#reset(id);
    }
    const seq = seqColumn(h);
    const n = seq.length;
    const offsets = bodyOffsets(h, n, body);
    checkColumn(h, "st", n, "number");
    const st = h.st as Column<number>;
    for (let i = 0; i < n; i++) {
      const verdict = this.#scheduler.result(key, seq[i]!);
      if (verdict.kind === "accepted") {
        const task = verdict.task;
        this.#results.add(task.seq, at(st, i, Status.Error), slot.index, task.deaths + 1, body!.subarray(offsets[i], offsets[i + 1]));
      } else if (verdict.kind === "duplicate") this.#counters.duplicatesDropped++;
      else if (verdict.kind === "not-held") this.#counters.malformedDropped++;
    }
    if (typeof h.credit === "number" && h.credit > 0) this.#scheduler.grant(key, h.credit);
    this.#toCaller.wake();
    this.#dispatch();
  }

  #reset(id: Buffer): void {
    this.#toWorkers.push([id, encodeHeader(Kind.Reset)]);
  }

  #onWorkerUnreachable(err: unknown, frames: Frames): void {
    const key = Buffer.from(frames[0] as Uint8Array).toString("latin1");
    log("worker %s unreachable: %s", key, (err as Error).message);
    this.#lose(key, "it could not be reached");
  }

  /** Fails the tasks of workers stuck past a task's timeout, and drops (and kills, if local) them. */
  #checkWedged(): void {
    const stuck = this.#scheduler.wedged(performance.now(), this.#config.timeoutGrace);
    for (const { worker, timedOut } of stuck) {
      for (const task of timedOut) {
        this.#counters.timedOutStuck++;
        const info = serializeError(new Error(`task ${task.id || task.seq} timed out after ${task.timeout} ms (its worker was stuck and has been replaced)`));
        info.name = "TimeoutError";
        this.#results.add(task.seq, Status.Timeout, worker.index, task.deaths + 1, encodeValue(info));
      }
      const peer = this.#peers.get(worker.key);
      this.#lose(worker.key, `stuck past a task's timeout`, false);
      if (peer) {
        this.#toWorkers.push([peer.id, encodeHeader(Kind.Reset)]);
        if (peer.local && peer.pid > 0) {
          this.#counters.workersKilled++;
          log("killing stuck worker %d", peer.pid);
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
    const peer = this.#peers.get(key);
    this.#peers.delete(key);
    if (!slot) return;
    this.#counters.workersLost++;
    this.#retired.push({ ...this.#workerInfo(slot, peer), inFlight: 0 });
    if (this.#retired.length > 256) this.#retired.shift();
    const exit = `worker ${peer?.pid ?? key} was lost (${why})`;
    log("%s holding %d tasks", exit, slot.inFlight.size);
    for (const task of this.#scheduler.removeWorker(key, exit, charge)) this.#failWorkerExit(task, peer?.pid);
    this.#markStatsDue();
    this.#dispatch();
  }

  #failWorkerExit(task: Task, pid: number | undefined): void {
    this.#counters.failedByWorkerExit++;
    const info = serializeError(new Error(`task ran ${task.deaths} times and its worker died each time; last: ${task.lastExit}`));
    info.name = "WorkerExitError";
    info.attempts = task.deaths;
    info.lastExit = task.lastExit;
    if (pid) info.pid = pid;
    this.#results.add(task.seq, Status.WorkerExit, -1, task.deaths, encodeValue(info));
    this.#toCaller.wake();
  }

  #dispatch(): void {
    for (const d of this.#scheduler.dispatch(performance.now())) this.#sendTasks(d);
  }

  #sendTasks({ worker, tasks }: Dispatch): void {
    const peer = this.#peers.get(worker.key);
    if (!peer) return;
    const n = tasks.length;
    const seq = new Array<number>(n);
    const len = new Array<number>(n);
    const fn = new Array<string>(n);
    const att = new Array<number>(n);
    const to = new Array<number>(n);
    const ids = new Array<string>(n);
    const parts = new Array<Uint8Array>(n);
    for (let i = 0; i < n; i++) {
      const t = tasks[i]!;
      seq[i] = t.seq;
      len[i] = t.payload.length;
      fn[i] = t.fn;
      att[i] = t.deaths + 1;
      to[i] = t.timeout;
      ids[i] = t.id;
      parts[i] = t.payload;
    }
    const header = encodeHeader(Kind.Tasks, { seq, len, fn: column(fn), att: column(att), to: column(to), id: column(ids) });
    this.#toWorkers.push([peer.id, header, joinBody(parts)]);
  }

  #workerInfo(slot: WorkerSlot, peer = this.#peers.get(slot.key)): WorkerInfo {
    return { index: slot.index, id: slot.key, pid: peer?.pid ?? 0, local: peer?.local ?? true, done: slot.done, inFlight: slot.inFlight.size };
  }

  #malformed(from: string, err: unknown): void {
    this.#counters.malformedDropped++;
    log("dropped a malformed message from the %s: %s", from, (err as Error).message);
  }
}
