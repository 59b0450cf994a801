// The caller's end of the broker connection. Tasks submitted in one turn of the event loop (or
// while the previous send is in flight) leave as one Submit message; results come back in batches
// and are routed to the map or mailbox that asked for them. A task stays outstanding here until its
// result arrives: that record is what lets the caller see each result exactly once.
import * as zmq from "zeromq";
import { BoundedMap } from "../shared/bounded-map.js";
import { logger } from "../shared/debug.js";
import { CancelledError, DependencyError, ProtocolError, TaskError, type ZerolbError } from "../shared/errors.js";
import { SeqMap } from "../shared/seq-map.js";
import { SeqSet } from "../shared/seq-set.js";
import { Spares } from "../shared/spares.js";
import { Waiters } from "../shared/waiters.js";
import { BodyParts } from "../wire/body-parts.js";
import { ValueReader } from "../wire/value-reader.js";
import { at, bodyOffsets, checkColumn, seqColumn, type Column } from "../wire/columns.js";
import { Outbox, type Frames } from "../wire/outbox.js";
import { decodeHeader, encodeHeader, Kind, Status, type Header, type PipelineWire } from "../wire/protocol.js";
import { readResultBatch } from "../wire/result-batch.js";
import type { BrokerStats, MembershipEvent } from "../wire/stats.js";
import { NO_CONTROLS, type TaskControls } from "../wire/task-controls.js";
import { dealerOptions, LOCAL_RECONNECT } from "../wire/transport.js";
import { taskErrorFromWire, type ProcessExit } from "./outcomes.js";
import { PendingTask, type TaskSink } from "./pending-task.js";
import { SubmitBatch, type FailedDependency, type Outcomes } from "./submit-batch.js";

const log = logger("caller");

/** How many delivered tasks the client keeps for reuse (a map's default window, or more). */
const SPARE_TASKS = 8192;

export interface ClientCounters {
  submitted: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  cancelled: number;
  duplicatesDropped: number;
  malformedDropped: number;
}

export class Client {
  readonly #socket: zmq.Dealer;
  readonly #outbox: Outbox;
  readonly #outstanding = new SeqMap<PendingTask>();
  /** Delivered map tasks, reused by submit(): no object per task for the collector to see. */
  readonly #spare = new Spares<PendingTask>(SPARE_TASKS);
  readonly #finished = new SeqSet();
  #nextSeq = 0;
  /** Tasks not yet handed to the socket. */
  readonly #batch = new SubmitBatch();
  #withdrawals: number[] = [];
  #handshakes = 0;
  readonly #idle = new Waiters();
  #closed: ZerolbError | undefined;
  readonly #pipelines = new Map<number, PipelineWire>();
  #nextPipelineId = 1;
  /** Seqs that failed (bounded): a task after one of them fails here, without going to the broker. */
  readonly #failedSeqs = new BoundedMap<number, true>(100_000);
  brokerStats: BrokerStats | undefined;
  /** statsWhere() calls waiting for the broker's counts to say something. */
  #statsWaiters: { until: (stats: BrokerStats) => boolean; resolve: () => void }[] = [];
  /** The caller's id of a finished task by seq (send tasks with chosen ids), for messages. */
  names: ((seq: number) => string | undefined) | undefined;
  /** How a worker process ended, by pid, to name it in WorkerExitErrors (local workers only). */
  describeExit: ((pid: number) => Promise<ProcessExit | undefined>) | undefined;
  /** A worker joined the broker or was taken out (the broker's Membership messages). */
  onMembership: ((event: MembershipEvent) => void) | undefined;
  /** A task lost its worker and runs again: its id and index, the run it starts now, how the worker was lost. */
  onRetry: ((task: { id: string; index: number }, attempt: number, why: string, error?: Error) => void) | undefined;
  readonly counters: ClientCounters = { submitted: 0, succeeded: 0, failed: 0, timedOut: 0, cancelled: 0, duplicatesDropped: 0, malformedDropped: 0 };

  /**
   * `link.lost` runs when the connection to the broker drops (the broker died, or stopped answering
   * ZMTP heartbeats: hung); `link.restored` when a connection completes its handshake again.
   */
  constructor(endpoint: string, heartbeat: { interval: number; timeout: number }, link: { lost(): void; restored(): void }) {
    this.#socket = new zmq.Dealer({
      ...dealerOptions(), ...LOCAL_RECONNECT, routingId: "caller",
      heartbeatInterval: heartbeat.interval, heartbeatTimeout: heartbeat.timeout, heartbeatTimeToLive: heartbeat.timeout,
    });
    try {
      this.#socket.events.on("disconnect", () => link.lost());
      this.#socket.events.on("handshake", () => {
        // Tells the broker this caller is connected: what it kept for the caller (workers that
        // joined meanwhile) comes now.
        this.#outbox.push([encodeHeader(Kind.StatsRequest)]);
        if (this.#handshakes++ > 0) this.#resync();
        link.restored();
      });
      this.#socket.connect(endpoint);
    } catch (err) {
      this.#socket.close(); // a constructor that throws leaves no socket open
      throw err;
    }
    this.#outbox = new Outbox(this.#socket, (err) => log("send to broker failed: %O", err), () => this.#produce());
    void this.#read();
  }

  get outstanding(): number {
    return this.#outstanding.size;
  }

  /** Queues a task for the broker. Throws the encoder's error if `data` cannot be sent. */
  submit(
    sink: TaskSink, data: unknown, index: number, fn: string, timeout: number,
    customId?: string, after?: number[], pipeline = 0, controls: TaskControls = NO_CONTROLS,
  ): PendingTask {
    if (this.#closed) throw this.#closed;
    const bytes = this.#batch.appendInput(data);
    const seq = this.#nextSeq++;
    const task = this.#spare.take()?.renew(seq, customId, index, sink, fn, timeout, after, pipeline)
      ?? new PendingTask(seq, customId, index, sink, fn, timeout, after, pipeline);
    task.bytes = bytes;
    task.controls = controls;
    this.#batch.add(task);
    this.#outstanding.set(task.seq, task);
    this.counters.submitted++;
    this.#outbox.wake();
    return task;
  }

  /**
   * Takes back a task whose outcome its sink has consumed and will not touch again, for a later
   * submit() to reuse. Only a map does this: its tasks never reach user code.
   */
  recycle(task: PendingTask): void {
    if (task.queued || !this.#spare.hasRoom) return;
    task.clear();
    this.#spare.give(task);
  }

  /** The caller no longer wants these tasks: they never start if still queued, and settle as cancelled. */
  withdraw(tasks: Iterable<PendingTask>, reason: string): void {
    for (const task of tasks) {
      if (task.withdrawn || !this.#outstanding.delete(task.seq)) continue;
      task.withdrawn = true;
      this.#finished.add(task.seq);
      this.#rememberFailed(task.seq);
      if (task.sentIn) this.#withdrawals.push(task.seq);
      else this.#batch.withdrawn();
      this.counters.cancelled++;
      task.resolve(false, new CancelledError(`task ${task.id} was cancelled: ${reason}`, { id: task.id, index: task.index }));
    }
    this.#outbox.wake();
    this.#checkIdle();
  }

  /** Registers a pipeline with the broker; returns its id for `submit`. */
  definePipeline(wire: PipelineWire): number {
    const id = this.#nextPipelineId++;
    this.#pipelines.set(id, wire);
    this.#outbox.push([encodeHeader(Kind.DefinePipeline, { id, pipeline: wire })]);
    return id;
  }

  /** The map that defined this pipeline has ended: caller and broker let go of its definition. */
  forgetPipeline(id: number): void {
    if (!this.#pipelines.delete(id) || this.#closed) return;
    this.#outbox.push([encodeHeader(Kind.ForgetPipeline, { id })]);
  }

  /** The outstanding task with this seq, or undefined. */
  outstandingTask(seq: number): PendingTask | undefined {
    return this.#outstanding.get(seq);
  }

  /** A seq for a task that is settled here without going to the broker (it counts as finished). */
  reserveSeq(): number {
    const seq = this.#nextSeq++;
    this.#finished.add(seq);
    return seq;
  }

  /**
   * A new connection to the broker (a new broker, or the same one after either side froze past the
   * heartbeat liveness): send every task not yet finished again, in one Submit marked `sync`. The
   * broker keeps what it holds, runs again what it finished (its result was lost on the way here),
   * withdraws what is not listed (a Withdraw was lost), and takes the rest as new. Results of runs
   * already under way are told apart by seq, so each task still settles once.
   */
  #resync(): void {
    log("connected to the broker again: re-sending %d outstanding tasks", this.#outstanding.size);
    for (const [id, pipeline] of this.#pipelines) this.#outbox.push([encodeHeader(Kind.DefinePipeline, { id, pipeline })]);
    for (const task of this.#outstanding.values()) if (task.sentIn) this.#batch.resend(task); // else still in the unsent batch
    this.#batch.markSync();
    this.#outbox.wake();
  }

  /** Every outstanding task of `sink`. */
  tasksOf(sink: TaskSink): PendingTask[] {
    const out: PendingTask[] = [];
    for (const task of this.#outstanding.values()) if (task.sink === sink) out.push(task);
    return out;
  }

  /** Resolves once the broker's latest counts satisfy `until` (asking the broker for them now). */
  statsWhere(until: (stats: BrokerStats) => boolean): Promise<void> {
    if (this.brokerStats && until(this.brokerStats)) return Promise.resolve();
    this.#outbox.push([encodeHeader(Kind.StatsRequest)]);
    return new Promise((resolve) => this.#statsWaiters.push({ until, resolve }));
  }

  /** Resolves when no task is outstanding. */
  onIdle(): Promise<void> {
    return this.#idle.until(this.#outstanding.size === 0);
  }

  /** Fails every outstanding task with `error` and refuses new ones (broker gone, or close). */
  failAll(error: ZerolbError, makeTaskError: (task: PendingTask) => Error): void {
    this.#closed ??= error;
    const tasks = this.#outstanding.values();
    this.#outstanding.clear();
    for (const task of tasks) {
      this.#finished.add(task.seq);
      this.#rememberFailed(task.seq);
      this.counters.failed++;
      task.resolve(false, makeTaskError(task));
    }
    this.#checkIdle();
  }

  /** Resolves once everything queued for the broker (a Withdraw, say) has been handed to the socket. */
  flush(): Promise<void> {
    return this.#outbox.onIdle();
  }

  /** Stops the socket. Call failAll first. */
  close(): void {
    this.#socket.close();
  }

  #produce(): Frames | undefined {
    if (this.#batch.pending) return this.#produceSubmit();
    if (this.#withdrawals.length > 0) {
      const seq = this.#withdrawals;
      this.#withdrawals = [];
      return [encodeHeader(Kind.Withdraw, { seq })];
    }
    return undefined;
  }

  #produceSubmit(): Frames {
    const { frames, failed } = this.#batch.take(this.#outcomes);
    if (failed) queueMicrotask(() => this.#failForDependency(failed));
    return frames;
  }

  /** What the Submit batch asks of the caller's records while it builds a message. */
  readonly #outcomes: Outcomes = {
    isOutstanding: (seq) => this.#outstanding.has(seq),
    hasFailed: (seq) => this.#failedSeqs.has(seq),
    dropForDependency: (task) => {
      this.#outstanding.delete(task.seq);
      this.#finished.add(task.seq);
      this.#rememberFailed(task.seq);
    },
  };

  #failForDependency(failed: FailedDependency[]): void {
    for (const { task, dependency } of failed) {
      task.sentStart = 0;
      this.counters.failed++;
      const dep = this.nameOf(dependency);
      task.resolve(false, new DependencyError(`task ${task.id} did not run: task ${dep} it depends on did not succeed`, { id: task.id, cause: Object.assign(new Error(`task ${dep} did not succeed`), { name: "DependencyError", dependency: dep }) }));
    }
    this.#checkIdle();
  }

  /** How the caller names a seq in messages: its sink's id for it when known, else the seq. */
  nameOf(seq: number): string {
    return this.#outstanding.get(seq)?.id ?? this.names?.(seq) ?? String(seq);
  }

  async #read(): Promise<void> {
    for await (const frames of this.#socket) this.#onMessage(frames);
  }

  // Apart from #read on purpose: what a message decodes to must not stay in the async function's
  // frame while it waits for the next one (there it would outlive the message, and the young-
  // generation GC would copy it each time it ran meanwhile).
  #onMessage(frames: Buffer[]): void {
    try {
      const h = decodeHeader(frames[0]);
      if (h.stats) this.#onStats(h.stats as BrokerStats);
      // Results with counts: they are the last frame, as JSON text (see the broker's caller-link.ts).
      if (h.sj === 1 && frames.length > 1) this.#onStats(JSON.parse(frames.pop()!.toString("utf8")) as BrokerStats);
      // A body may come in several frames (large results as views of the worker messages they came in).
      if (h.k === Kind.Results) this.#onResults(h, BodyParts.of(frames, 1));
      else if (h.k === Kind.Retried) this.#onRetried(h, BodyParts.of(frames, 1));
      else if (h.k === Kind.Membership) this.#onMembership(h);
      else if (h.k !== Kind.Stats) throw new ProtocolError(`kind ${h.k} is not for the caller`);
    } catch (err) {
      this.counters.malformedDropped++;
      log("dropped a malformed message from the broker: %s", (err as Error).message);
    }
  }

  #onStats(stats: BrokerStats): void {
    this.brokerStats = stats;
    if (this.#statsWaiters.length === 0) return;
    this.#statsWaiters = this.#statsWaiters.filter((w) => !(w.until(stats) && (w.resolve(), true)));
  }

  /** Tasks that run again: their worker died (`att`: deaths), or (`why: "error"`) their handler failed (`att`: runs; errors in the body). */
  #onRetried(h: Header, body: BodyParts): void {
    const seq = seqColumn(h);
    checkColumn(h, "att", seq.length, "number");
    const att = h.att as Column<number>;
    if (h.why === "error") {
      checkColumn(h, "st", seq.length, "number");
      const st = h.st as Column<number>;
      const values = new ValueReader(body, bodyOffsets(h, seq.length, body));
      try {
        for (let i = 0; i < seq.length; i++) {
          const task = this.#outstanding.get(seq[i]!);
          if (!task) continue;
          const runs = at(att, i, 1);
          const error = taskErrorFromWire(at(st, i, Status.Error), values.read(i), task, runs);
          this.onRetry?.(task, runs + 1, `its handler failed: ${error.message}`, error);
        }
      } finally {
        values.close();
      }
      return;
    }
    const why = typeof h.why === "string" ? h.why : "its worker was lost";
    for (let i = 0; i < seq.length; i++) {
      const task = this.#outstanding.get(seq[i]!);
      if (!task) continue;
      task.deaths = at(att, i, task.deaths);
      this.onRetry?.(task, task.deaths + 1, why);
    }
  }

  #onMembership(h: Header): void {
    if ((h.ev !== "join" && h.ev !== "exit") || typeof h.id !== "string") throw new ProtocolError("a Membership message needs ev and id");
    const event: MembershipEvent = { ev: h.ev, id: h.id, pid: typeof h.pid === "number" ? h.pid : 0, local: h.local === true };
    if (typeof h.name === "string") event.name = h.name;
    if (typeof h.reason === "string") event.reason = h.reason;
    this.onMembership?.(event);
  }

  #onResults(h: Header, body: BodyParts): void {
    const { seq, offsets, st } = readResultBatch(h, body);
    const n = seq.length;
    checkColumn(h, "att", n, "number");
    const runs = h.att as Column<number> | undefined;
    const values = new ValueReader(body, offsets);
    try {
      for (let i = 0; i < n; i++) {
        const s = seq[i]!;
        const task = this.#outstanding.get(s);
        if (!task) {
          if (this.#finished.has(s)) this.counters.duplicatesDropped++;
          continue;
        }
        this.#outstanding.delete(s);
        this.#finished.add(s);
        task.resultBytes = offsets[i + 1]! - offsets[i]!;
        const status = at(st, i, Status.Error);
        if (status !== Status.Ok) this.#rememberFailed(s);
        let value: unknown;
        try {
          value = values.read(i);
        } catch (err) {
          this.counters.failed++;
          task.resolve(false, new TaskError(`the result of task ${task.id} cannot be decoded: ${(err as Error).message}`, { id: task.id, index: task.index, cause: err }));
          continue;
        }
        if (status === Status.Ok) {
          this.counters.succeeded++;
          task.resolve(true, value);
        } else {
          this.counters.failed++;
          if (status === Status.Timeout) this.counters.timedOut++;
          if (status === Status.WorkerExit && this.describeExit && typeof (value as { pid?: unknown })?.pid === "number") {
            // Rare: settle once the caller knows how that worker process ended, to name it.
            const info = value as Record<string, unknown>;
            const attempts = at(runs, i, 1);
            void this.describeExit(info.pid as number).then((exit) => {
              if (exit) info.message = `${String(info.message)}; process ${info.pid} ended with ${exit.description}`;
              task.resolve(false, taskErrorFromWire(status, info, task, attempts, exit));
            });
            continue;
          }
          task.resolve(false, taskErrorFromWire(status, value, task, at(runs, i, 1)));
        }
      }
    } finally {
      values.close();
    }
    this.#checkIdle();
  }

  #rememberFailed(seq: number): void {
    this.#failedSeqs.set(seq, true);
  }

  #checkIdle(): void {
    if (this.#outstanding.size === 0) this.#idle.wake();
  }
}
