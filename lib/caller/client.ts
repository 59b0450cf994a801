// The caller's end of the broker connection. Tasks submitted in one turn of the event loop (or
// while the previous send is in flight) leave as one Submit message; results come back in batches
// and are routed to the map or mailbox that asked for them. A task stays outstanding here until its
// result arrives: that record is what lets the caller see each result exactly once.
import * as zmq from "zeromq";
import { BodyWriter } from "../wire/body-writer.js";
import type { BrokerStats } from "../wire/stats.js";
import { appendValue, ValueReader } from "../wire/codec.js";
import { logger } from "../shared/debug.js";
import {
  CancelledError, DependencyError, ProtocolError, TaskError, TimeoutError, WorkerExitError,
  type ZerolbError,
} from "../shared/errors.js";
import { deserializeError } from "../wire/error-wire.js";
import { Outbox, type Frames } from "../wire/outbox.js";
import {
  at, BodyRanges, checkColumn, ColumnBuilder, readResultBatch, decodeHeader, encodeHeader, EMPTY, Kind, seqColumn, Status, type Column, type Header,
} from "../wire/protocol.js";
import type { PipelineWire } from "../wire/protocol.js";
import { SeqMap } from "../shared/seq-map.js";
import { SeqSet } from "../shared/seq-set.js";
import { dealerOptions, LOCAL_RECONNECT } from "../wire/transport.js";
import { BoundedMap } from "../shared/bounded-map.js";
import { Spares } from "../shared/spares.js";
import { Waiters } from "../shared/waiters.js";

const log = logger("caller");

/** How many delivered tasks the client keeps for reuse (a map's default window, or more). */
const SPARE_TASKS = 8192;

/** Whoever waits for a task's outcome: a map, or the send/receive mailbox. */
export interface TaskSink {
  settle(task: PendingTask): void;
}

/** The sink of a task waiting in the spare list: nobody. */
const NO_SINK: TaskSink = { settle() {} };

export class PendingTask {
  /** Set when the outcome arrives. */
  ok = false;
  value: unknown = undefined;
  /**
   * Where the encoded input went out (a sent Submit body and its range), kept until the outcome
   * arrives so it can be sent again to a restarted broker. No view is made unless that happens.
   */
  sentIn: Uint8Array | undefined;
  sentStart = 0;
  sentEnd = 0;
  withdrawn = false;
  /** In the batch not yet handed to the socket (after a broker restart its result may come first). */
  queued = false;
  /** Runs of this task whose worker died (reported by the broker; re-sent after a broker restart). */
  deaths = 0;
  /** Size of the encoded input: a map's and send()'s `highWaterMarkBytes` count it until the outcome. */
  bytes = 0;
  /** Size of the encoded outcome (0 if it was made here): a map counts it until the result is yielded. */
  resultBytes = 0;
  /** Called once when the outcome arrives (a send's abort listener is removed here). */
  onSettled: (() => void) | undefined;
  // Not readonly: a map hands its delivered tasks back to the client for reuse (Client.recycle).
  constructor(
    public seq: number,
    public customId: string | undefined,
    public index: number,
    public sink: TaskSink,
    public fn: string,
    public timeout: number,
    /** Seqs this task runs after (send's `after`), or undefined. */
    public after: number[] | undefined = undefined,
    /** Pipeline id (map's `pipeline`), or 0. */
    public pipeline = 0,
  ) {}

  /** A recycled task made a new one: what the constructor sets (clear() reset the rest). */
  renew(seq: number, customId: string | undefined, index: number, sink: TaskSink, fn: string, timeout: number, after: number[] | undefined, pipeline: number): this {
    this.seq = seq;
    this.customId = customId;
    this.index = index;
    this.sink = sink;
    this.fn = fn;
    this.timeout = timeout;
    this.after = after;
    this.pipeline = pipeline;
    return this;
  }

  /** Back to a fresh task's state, holding no reference to its outcome, input or sink. */
  clear(): void {
    this.ok = false;
    this.value = undefined;
    this.sentIn = undefined;
    this.resultBytes = 0;
    this.withdrawn = false;
    this.deaths = 0;
    this.onSettled = undefined;
    this.customId = undefined;
    this.after = undefined;
    this.sink = NO_SINK;
  }

  get id(): string {
    return this.customId ?? String(this.seq);
  }

  resolve(ok: boolean, value: unknown): void {
    this.ok = ok;
    this.value = value;
    this.sentIn = undefined;
    this.sink.settle(this);
  }
}

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
  #body = new BodyWriter(16 * 1024);
  /**
   * Tasks not yet handed to the socket: the first `#batchLength` entries of a list kept for the
   * client's life (a list per batch would be alive, and copied by the young-generation GC, whenever
   * a collection ran while a batch was being filled, which is most of the time).
   */
  readonly #batch: (PendingTask | undefined)[] = [];
  #batchLength = 0;
  #batchWithdrawn = 0;
  #withdrawals: number[] = [];
  /**
   * The next Submit lists every outstanding task (`sync`): the connection to the broker was made
   * again (a freeze of either side, or a new broker), and whatever was on its way either way may
   * be lost, so the broker is told exactly what the caller still waits for.
   */
  #syncDue = false;
  #handshakes = 0;
  readonly #idle = new Waiters();
  #closed: ZerolbError | undefined;
  readonly #pipelines = new Map<number, PipelineWire>();
  #nextPipelineId = 1;
  /** Seqs that failed, remembered (bounded) so a later `after` on them fails at once. */
  /** Seqs that failed (bounded): a task after one of them fails here, without going to the broker. */
  readonly #failedSeqs = new BoundedMap<number, true>(100_000);
  brokerStats: BrokerStats | undefined;
  /** statsWhere() calls waiting for the broker's counts to say something. */
  #statsWaiters: { until: (stats: BrokerStats) => boolean; resolve: () => void }[] = [];
  /** The caller's id of a finished task by seq (send tasks with chosen ids), for messages. */
  names: ((seq: number) => string | undefined) | undefined;
  /** How a worker process ended, by pid, to name it in WorkerExitErrors (local workers only). */
  describeExit: ((pid: number) => Promise<string | undefined>) | undefined;
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
    customId?: string, after?: number[], pipeline = 0,
  ): PendingTask {
    if (this.#closed) throw this.#closed;
    const start = this.#body.byteLength;
    appendValue(this.#body, data, "input");
    const seq = this.#nextSeq++;
    const task = this.#spare.take()?.renew(seq, customId, index, sink, fn, timeout, after, pipeline)
      ?? new PendingTask(seq, customId, index, sink, fn, timeout, after, pipeline);
    task.bytes = this.#body.byteLength - start;
    task.queued = true;
    this.#batch[this.#batchLength++] = task;
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
      else this.#batchWithdrawn++;
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
    for (const task of this.#outstanding.values()) {
      if (!task.sentIn) continue; // still in the unsent batch
      this.#body.append(task.sentIn.subarray(task.sentStart, task.sentEnd));
      task.sentIn = undefined;
      task.queued = true;
      this.#batch[this.#batchLength++] = task;
    }
    this.#syncDue = true;
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
    if (this.#batchLength > 0 || this.#syncDue) return this.#produceSubmit();
    if (this.#withdrawals.length > 0) {
      const seq = this.#withdrawals;
      this.#withdrawals = [];
      return [encodeHeader(Kind.Withdraw, { seq })];
    }
    return undefined;
  }

  #produceSubmit(): Frames {
    const batch = this.#batch;
    const n = this.#batchLength;
    this.#batchLength = 0;
    const sync = this.#syncDue;
    this.#syncDue = false;
    // A task whose dependency has failed does not go: it fails here (after the message is built,
    // since settling it runs its sink's code).
    const failed = this.#failedDependencies(batch, n);
    const { body, lengths } = this.#body.take();
    // Tasks withdrawn (or failed) before they left are cut out of the body; otherwise it goes as it is.
    const withdrawn = this.#batchWithdrawn + (failed?.length ?? 0);
    this.#batchWithdrawn = 0;
    const seq: number[] = [];
    const len: number[] = withdrawn > 0 ? [] : lengths;
    const fn = new ColumnBuilder<string>();
    const to = new ColumnBuilder<number>();
    const att = new ColumnBuilder<number>();
    const id = new ColumnBuilder<string>();
    const pipe = new ColumnBuilder<number>();
    let after: (number[] | null)[] | undefined;
    const kept = withdrawn > 0 ? new BodyRanges() : undefined;
    let offset = 0;
    for (let i = 0; i < n; i++) {
      const task = batch[i]!;
      batch[i] = undefined;
      const start = offset;
      offset += lengths[i]!;
      task.queued = false;
      if (task.withdrawn || task.sentStart < 0) continue;
      task.sentIn = body;
      task.sentStart = start;
      task.sentEnd = offset;
      seq.push(task.seq);
      fn.push(task.fn);
      to.push(task.timeout);
      att.push(task.deaths);
      id.push(task.customId ?? "");
      pipe.push(task.pipeline);
      if (task.after) {
        // Only dependencies still outstanding go to the broker: those that succeeded are done with.
        after ??= seq.slice(0, -1).map(() => null);
        after.push(task.after.filter((s) => this.#outstanding.has(s)));
      } else after?.push(null);
      if (kept) {
        len.push(offset - start);
        kept.add(body, start, offset);
      }
    }
    const fields: Record<string, unknown> = { seq, len, fn: fn.take(), to: to.take(), att: att.take(), id: id.take(), pipe: pipe.take() };
    if (after) fields.after = after;
    if (sync) fields.sync = true;
    if (failed) queueMicrotask(() => this.#failForDependency(failed));
    return [encodeHeader(Kind.Submit, fields), kept ? kept.take() : body];
  }

  /**
   * Tasks of the batch with a dependency that has failed: taken out of the outstanding set and
   * marked to be cut from the body (sentStart -1); settled by #failForDependency once the message is built.
   */
  #failedDependencies(batch: (PendingTask | undefined)[], n: number): { task: PendingTask; dependency: number }[] | undefined {
    let failed: { task: PendingTask; dependency: number }[] | undefined;
    for (let i = 0; i < n; i++) {
      const task = batch[i]!;
      if (!task.after || task.withdrawn) continue;
      const dependency = task.after.find((s) => this.#failedSeqs.has(s));
      if (dependency === undefined) continue;
      this.#outstanding.delete(task.seq);
      this.#finished.add(task.seq);
      this.#rememberFailed(task.seq);
      task.sentStart = -1;
      (failed ??= []).push({ task, dependency });
    }
    return failed;
  }

  #failForDependency(failed: { task: PendingTask; dependency: number }[]): void {
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
    for await (const frames of this.#socket) this.#onMessage(frames[0], frames[1]);
  }

  // Apart from #read on purpose: what a message decodes to must not stay in the async function's
  // frame while it waits for the next one (there it would outlive the message, and the young-
  // generation GC would copy it each time it ran meanwhile).
  #onMessage(headerFrame: Buffer | undefined, body: Buffer | undefined): void {
    try {
      const h = decodeHeader(headerFrame);
      if (h.stats) this.#onStats(h.stats as BrokerStats);
      if (h.k === Kind.Results) this.#onResults(h, body);
      else if (h.k === Kind.Retried) this.#onRetried(h);
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

  #onRetried(h: Header): void {
    const seq = seqColumn(h);
    checkColumn(h, "att", seq.length, "number");
    const att = h.att as Column<number>;
    for (let i = 0; i < seq.length; i++) {
      const task = this.#outstanding.get(seq[i]!);
      if (task) task.deaths = at(att, i, task.deaths);
    }
  }

  #onResults(h: Header, body: Buffer | undefined): void {
    const { seq, offsets, st } = readResultBatch(h, body);
    const n = seq.length;
    const values = new ValueReader(body ?? EMPTY, offsets);
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
            void this.describeExit(info.pid as number).then((exit) => {
              if (exit) info.message = `${String(info.message)}; process ${info.pid} ended with ${exit}`;
              task.resolve(false, taskErrorFromWire(status, info, task));
            });
            continue;
          }
          task.resolve(false, taskErrorFromWire(status, value, task));
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

/** The error class a failed task's caller sees, by status. */
export function taskErrorFromWire(status: number, info: unknown, task: { id: string; index: number }): TaskError {
  // A pipeline item fails as { job, error }: the first job that failed, and its error.
  const job = typeof info === "object" && info !== null && "job" in info && "error" in info ? String((info as { job: unknown }).job) : undefined;
  const cause = deserializeError(job === undefined ? info : (info as { error: unknown }).error);
  if (job !== undefined) {
    (cause as Error & { job?: string }).job = job;
    cause.message = `job "${job}" failed: ${cause.message}`;
  }
  const init = { id: task.id, index: task.index >= 0 ? task.index : undefined, cause };
  switch (status) {
    case Status.Timeout:
      return new TimeoutError(cause.message, init);
    case Status.WorkerExit:
      return new WorkerExitError(`task ${task.id} failed: ${cause.message}`, init);
    case Status.Dependency:
      return new DependencyError(cause.message, init);
    case Status.Cancelled:
      return new CancelledError(cause.message, init);
    default:
      return new TaskError(`task ${task.id} failed: ${cause.name}: ${cause.message}`, init);
  }
}
