// The broker process's socket loop: a frontend ROUTER for the caller, a backend ROUTER for local
// workers (ipc) and, with an `endpoint`, a second backend ROUTER for remote workers (tcp, optionally
// CurveZMQ with a ZAP allow-list). It reads message headers, asks the scheduler what to do and
// sends what it says. It never decodes a task's input or result: payloads are sliced from incoming
// bodies and joined into outgoing ones. Workers of both backends share one scheduler, keyed by
// backend and routing id. The caller's side is caller-link.ts, the workers' comings and goings
// workers.ts, the decisions scheduler.ts.
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import * as zmq from "zeromq";
import { logger } from "../shared/debug.js";
import { ProtocolError } from "../shared/errors.js";
import { BodyParts, ValueSpans } from "../wire/body-parts.js";
import type { BrokerConfig, RemoteConfig } from "../wire/child-messages.js";
import { at, checkColumn, seqColumn, startedColumn, type Column } from "../wire/columns.js";
import { Outbox } from "../wire/outbox.js";
import { decodeHeader, foreignHelloVersion, Kind, Status, type Header, type PipelineWire } from "../wire/protocol.js";
import { readResultBatch } from "../wire/result-batch.js";
import type { BrokerStats } from "../wire/stats.js";
import { readTaskBatch } from "../wire/task-batch.js";
import { routerOptions } from "../wire/transport.js";
import { DISCONNECT_FRAME, NOTIFY_CONNECTIONS, NotifyingRouter, type Backend } from "./backend.js";
import { CallerLink, CALLER_ID } from "./caller-link.js";
import { errorInfo } from "./error-values.js";
import { pipelineId, PipelineRuns } from "./pipeline-runs.js";
import { RateLimit } from "./rate-limit.js";
import { TaskDispatch } from "./task-dispatch.js";
import { WakeTimer } from "./wake-timer.js";
import { newTask, recycleTask, type Task } from "./records.js";
import { bindRemoteEndpoint } from "./remote-endpoint.js";
import { Scheduler } from "./scheduler.js";
import { Workers } from "./workers.js";
import type { ZapHandler } from "./zap.js";

const log = logger("broker");

/** A header frame larger than this from a worker is dropped unread. */
const MAX_HEADER_BYTES = 1 << 20;
/** How often the broker looks for workers stuck past a task's timeout. */
const WEDGE_CHECK_MS = 200;

export class Broker {
  readonly #config: BrokerConfig;
  readonly #scheduler: Scheduler;
  readonly #pipelines = new PipelineRuns((task, first) => void this.#scheduler.submit(task, undefined, first));
  readonly #frontend: zmq.Router;
  readonly #caller: CallerLink;
  readonly #workers: Workers;
  readonly #local: Backend;
  #remote: Backend | undefined;
  readonly #dispatcher: TaskDispatch;
  #zap: ZapHandler | undefined;
  #endpoint: string | undefined;
  #closed = false;
  #wedgeTimer: NodeJS.Timeout | undefined;
  /** One timer for the earliest task waiting for its retry: the tasks due join the queue. */
  readonly #retryWake = new WakeTimer(() => {
    this.#scheduler.releaseRetries(performance.now());
    this.#dispatch();
    this.#armRetryWake();
  });
  readonly #counters = {
    failedByWorkerExit: 0, timedOutStuck: 0, workersKilled: 0, duplicatesDropped: 0, malformedDropped: 0, workersLost: 0,
    refusedHandshakes: 0, failedSetups: 0,
  };

  constructor(config: BrokerConfig) {
    this.#config = config;
    this.#scheduler = new Scheduler({ maxAttempts: config.maxAttempts });
    this.#frontend = new zmq.Router(routerOptions());
    this.#caller = new CallerLink(this.#frontend, () => this.stats, () => this.#scheduler.queued === 0 && this.#scheduler.inFlight === 0 && this.#scheduler.retrying === 0);
    this.#workers = new Workers({
      config, scheduler: this.#scheduler, counters: this.#counters, errorInfo,
      settle: (task, status, error) => this.#settle(task, status, error),
      dispatch: () => this.#dispatch(),
      retried: (seq, att, why) => this.#caller.retried(seq, att, why),
      membership: (event) => this.#caller.membership(event),
      statsDue: () => this.#caller.statsDue(),
    }, randomBytes(8).toString("hex"));
    const rateLimit = config.rateLimit ? new RateLimit(config.rateLimit.tasks, config.rateLimit.per) : undefined;
    this.#dispatcher = new TaskDispatch(this.#scheduler, this.#workers, rateLimit, () => this.#dispatch());
    this.#local = this.#newBackend(
      new NotifyingRouter({ ...routerOptions(), ...NOTIFY_CONNECTIONS, heartbeatInterval: config.heartbeatInterval, heartbeatTimeout: config.heartbeatTimeout }),
      true,
      "",
    );
  }

  #newBackend(socket: zmq.Router, local: boolean, prefix: string): Backend {
    const backend: Backend = {
      socket, local, prefix, planned: [],
      outbox: new Outbox(socket, (err, frames) => this.#workers.unreachable(backend, err, frames), () => this.#dispatcher.next(backend, backend === this.#local ? this.#remote : this.#local)),
    };
    return backend;
  }

  /** The remote endpoint actually bound (port resolved), once started. */
  get endpoint(): string | undefined {
    return this.#endpoint;
  }

  get stats(): BrokerStats {
    return {
      queued: this.#scheduler.queued,
      waiting: this.#scheduler.waiting,
      pipelineItems: this.#pipelines.active,
      inFlight: this.#scheduler.inFlight,
      retried: this.#scheduler.retried, retriedErrors: this.#scheduler.retriedErrors, retrying: this.#scheduler.retrying,
      hedged: this.#scheduler.hedge.hedged,
      hedgeLost: this.#scheduler.hedge.lost,
      ...this.#counters,
      workers: this.#workers.list(),
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
    this.#wedgeTimer = setInterval(() => {
      this.#workers.checkStuck();
      this.#cancelHedgeLosers();
      // Hedged maps: a straggler becomes one as time passes, with nothing else happening.
      if (this.#scheduler.hedge.active) {
        this.#local.outbox.wake();
        this.#remote?.outbox.wake();
      }
    }, WEDGE_CHECK_MS);
    this.#wedgeTimer.unref();
    return this.#endpoint === undefined ? {} : { endpoint: this.#endpoint };
  }

  async #bindRemote(remote: RemoteConfig): Promise<void> {
    const bound = await bindRemoteEndpoint(remote, this.#config, {
      beforeBind: (socket) => void (this.#remote = this.#newBackend(socket, false, "r:")),
      onRefusedHandshake: () => {
        this.#counters.refusedHandshakes++;
        this.#caller.statsDue();
      },
    });
    this.#zap = bound.zap;
    this.#endpoint = bound.endpoint;
  }

  /**
   * Closes for good (the LoadBalancer closes; not a crash): remote workers are told first
   * (Goodbye), then every socket closes.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#wedgeTimer);
    if (this.#remote) await this.#workers.goodbye(this.#remote);
    this.#retryWake.close();
    this.#dispatcher.close();
    this.#caller.close();
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
    const [id, headerFrame] = frames;
    // With handover, what was still unread on a connection the caller replaced arrives under a
    // temporary routing id: stale, and covered by the Submit that reconciles the new connection.
    if (id?.toString("latin1") !== CALLER_ID) return;
    const header = decodeHeader(headerFrame);
    this.#caller.heard();
    switch (header.k) {
      case Kind.Submit:
        return this.#onSubmit(header, BodyParts.of(frames, 2));
      case Kind.Withdraw:
        this.#withdrawAll(seqColumn(header));
        this.#caller.statsDue();
        return this.#dispatch();
      case Kind.DefinePipeline:
        return this.#pipelines.define(pipelineId(header), header.pipeline as PipelineWire);
      case Kind.ForgetPipeline:
        return this.#pipelines.forget(pipelineId(header));
      case Kind.StatsRequest:
        return this.#caller.sendStats();
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
  #onSubmit(h: Header, body: BodyParts): void {
    const { seq, offsets, fn, to, att, id, controls } = readTaskBatch(h, body);
    const spans = new ValueSpans(body, offsets);
    const n = seq.length;
    checkColumn(h, "pipe", n, "number");
    const pipe = h.pipe as Column<number> | undefined;
    checkColumn(h, "hg", n, "number");
    const hedgeGroup = h.hg as Column<number> | undefined;
    const after = h.after;
    if (after !== undefined && (!Array.isArray(after) || after.length !== n)) throw new ProtocolError("after column does not match seq");
    const sync = h.sync === true;
    if (sync) this.#reconcile(new Set(seq));
    for (let i = 0; i < n; i++) {
      const pipelineId = at(pipe, i, 0);
      if (pipelineId > 0) {
        if (this.#pipelines.holds(seq[i]!) || (!sync && this.#scheduler.isFinished(seq[i]!))) continue;
        this.#pipelines.start(seq[i]!, pipelineId, spans.frame(i), spans.start(i), spans.end(i), at(to, i, 0), at(id, i, ""));
        continue;
      }
      const deps = after?.[i] as unknown;
      if (deps != null && (!Array.isArray(deps) || deps.some((d) => !Number.isSafeInteger(d)))) throw new ProtocolError("after holds a non-integer");
      const task = newTask(seq[i]!, at(id, i, ""), at(fn, i, ""), at(to, i, 0), at(att, i, 0), spans.frame(i), spans.start(i), spans.end(i), controls(i));
      task.hedgeGroup = at(hedgeGroup, i, 0);
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

  /** Withdraws tasks and pipeline items (and their jobs) of the caller. */
  #withdrawAll(seqs: number[]): void {
    const jobs = seqs.flatMap((s) => this.#pipelines.withdraw(s));
    this.#withdraw(jobs.length > 0 ? [...seqs, ...jobs] : seqs);
  }

  /** Drops queued tasks; running ones get a Cancel at their worker (their results are ignored). */
  #withdraw(seqs: number[]): void {
    for (const [slot, running] of this.#scheduler.withdraw(seqs, performance.now())) this.#workers.cancel(slot, running);
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
    const [id, headerFrame] = frames;
    const key = backend.prefix + id!.toString("latin1");
    if (frames.length === 2 && headerFrame!.length === 0) return this.#workers.connected(backend, id!, key);
    if (frames.length === 2 && headerFrame!.equals(DISCONNECT_FRAME)) return this.#workers.disconnected(key);
    if (headerFrame!.length > MAX_HEADER_BYTES) throw new ProtocolError(`a header of ${headerFrame!.length} bytes (at most ${MAX_HEADER_BYTES})`);
    let header: Header;
    try {
      header = decodeHeader(headerFrame);
    } catch (err) {
      const version = foreignHelloVersion(headerFrame);
      if (version !== undefined) this.#workers.refuse(backend, id!, version);
      throw err;
    }
    // A header and at most one frame more; only a WorkerResults body may come in several (bounded by its values).
    if (frames.length > 3 && header.k !== Kind.WorkerResults) throw new ProtocolError(`a worker message has ${frames.length - 1} frames (at most 2)`);
    this.#scheduler.heard(key, performance.now());
    switch (header.k) {
      case Kind.Hello:
        return this.#workers.hello(backend, id!, key, header);
      case Kind.Ready:
        return this.#workers.ready(backend, id!, key, header);
      case Kind.WorkerResults:
        return this.#onWorkerResults(backend, id!, key, header, BodyParts.of(frames, 2));
      case Kind.Bye:
        return this.#workers.bye(backend, id!, key, seqColumn(header), header.error);
      default:
        throw new ProtocolError(`kind ${header.k} is not for the backend`);
    }
  }

  #onWorkerResults(backend: Backend, id: Buffer, key: string, h: Header, body: BodyParts): void {
    if (!this.#scheduler.worker(key)) {
      // A worker we dropped (presumed dead) is back with late results: they were run elsewhere.
      for (const s of seqColumn(h)) if (this.#scheduler.isFinished(s)) this.#counters.duplicatesDropped++;
      return this.#workers.reset(backend, id);
    }
    const { seq, offsets, st } = readResultBatch(h, body);
    const n = seq.length;
    // At most one frame per value (a writer starts a frame only for a value), so a peer cannot send frames without end.
    if (body.frames.length > Math.max(1, n)) throw new ProtocolError(`a body of ${n} values in ${body.frames.length} frames`);
    const spans = new ValueSpans(body, offsets);
    checkColumn(h, "nr", n, "number"); // `nr` (no retry): the handler's error said `retryable: false`
    const noRetry = h.nr as Column<number> | undefined;
    const now = performance.now();
    if (h.started !== undefined) this.#scheduler.started(key, startedColumn(h), now);
    let retrying = false;
    let notices: ReturnType<CallerLink["retryNotices"]> | undefined; // for the caller's "retry" events
    for (let i = 0; i < n; i++) {
      const status = at(st, i, Status.Error);
      const mayRetry = (status === Status.Error || status === Status.Timeout) && at(noRetry, i, 0) === 0;
      const verdict = this.#scheduler.result(key, seq[i]!, status === Status.Ok, now, mayRetry);
      if (verdict === "retrying") {
        retrying = true;
        if (!this.#pipelines.isJob(seq[i]!)) (notices ??= this.#caller.retryNotices()).add(seq[i]!, this.#scheduler.runsOf(seq[i]!), status, spans.frame(i), spans.start(i), spans.end(i));
      } else if (typeof verdict === "object") {
        this.#settle(verdict, status, spans.frame(i), spans.start(i), spans.end(i));
        // A plain task that succeeded is done with: nothing refers to it (a failed one may be
        // named in its dependents' errors; pipeline jobs' records live on in their item's run).
        if (status === Status.Ok && !this.#pipelines.isJob(verdict.seq)) recycleTask(verdict);
      } else if (verdict === "duplicate") this.#counters.duplicatesDropped++;
      else if (verdict === "not-held") this.#counters.malformedDropped++;
    }
    if (typeof h.credit === "number" && h.credit > 0) this.#scheduler.grant(key, h.credit);
    this.#cancelHedgeLosers();
    if (retrying) this.#armRetryWake();
    notices?.send();
    this.#caller.wake();
    this.#dispatch();
  }

  /** Runs of hedged tasks whose twin won: their workers let them go. */
  #cancelHedgeLosers(): void {
    for (const [slot, seq] of this.#scheduler.hedge.takeCancels()) this.#workers.cancel(slot, [seq]);
  }

  /**
   * A task's outcome, bytes [start, end) of `buffer`, is final: to the caller (as a range of that
   * buffer: no view of its own), or (a pipeline job) to its item.
   */
  #settle(task: Task, status: number, buffer: Uint8Array, start = 0, end = buffer.length): void {
    const results = this.#caller.results;
    // Runs made: each death, each failure retried, and the run that gave this outcome if one did.
    const ran = status === Status.WorkerExit || status === Status.Dependency || status === Status.Cancelled ? 0 : 1;
    if (this.#pipelines.isJob(task.seq)) {
      const outcome = this.#pipelines.jobFinished(task, status, buffer, start, end);
      if (!outcome) return;
      if (outcome.withdraw.length > 0) this.#withdraw(outcome.withdraw);
      if (outcome.bytes) results.add(outcome.seq, outcome.status, outcome.bytes);
      else this.#pipelines.writeResult(outcome, results);
    } else {
      results.add(task.seq, status, buffer, start, end, task.deaths + task.failures + ran);
    }
    this.#caller.wake();
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
    this.#caller.statsChanged();
    this.#local.outbox.wake();
    this.#remote?.outbox.wake();
  }

  #armRetryWake(): void {
    const next = this.#scheduler.nextRetryAt;
    if (next !== undefined) this.#retryWake.at(next);
  }

  #malformed(from: string, err: unknown): void {
    this.#counters.malformedDropped++;
    this.#caller.statsChanged();
    log("dropped a malformed message from the %s: %s", from, (err as Error).message);
  }
}
