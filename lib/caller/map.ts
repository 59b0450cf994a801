// lb.map(): pulls items lazily from any (async) iterable, keeps at most `highWaterMark` of them
// between the source and the consumer (and stops pulling early while the bytes it holds pass
// `highWaterMarkBytes`: inputs out, results not yet yielded, results still to come), and yields
// results in input order (a reorder ring of `highWaterMark` slots) or in completion order.
import { TaskError, UnsupportedValueError, type ZerolbError } from "../shared/errors.js";
import { ResultSizes } from "./result-sizes.js";
import { type Client } from "./client.js";
import { PendingTask, type TaskSink } from "./pending-task.js";
import type { Pipeline } from "./pipeline.js";
import { Deque } from "../shared/ring.js";
import type { MapProgress } from "./map-types.js";
import type { TaskControls } from "../wire/task-controls.js";
import { etaMs, RateMeter } from "../shared/rate.js";

/** `onProgress` is called at most this often (plus once at the end). */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * A map starts with at most this many tasks out (or two per local slot, if more), and each outcome
 * that comes back lets one more out, until `highWaterMark`: TCP's slow start. Putting a whole
 * window (then 4,096) out at once kept the caller and the broker busy encoding and reading them
 * (code not yet optimized) on the CPUs the workers' first results needed: 10 ms tasks on 2 workers
 * × 10 took 2.4 % over the ideal instead of 1.7 %. Quick tasks come back at once, so their window
 * is full within a few round trips.
 */
const FIRST_WINDOW = 64;

export interface MapSettings {
  hwm: number;
  /** Slots of the local workers (workers × concurrency): the first window is at least twice that. */
  localSlots: number;
  hwmBytes: number;
  ordered: boolean;
  settled: boolean;
  fn: string;
  timeout: number;
  signal: AbortSignal | undefined;
  pipeline: Pipeline | undefined;
  onProgress: ((progress: MapProgress) => void) | undefined;
  /** Retries, priority and batching for every item. */
  controls: TaskControls;
  /** The number of items, when known (an array's length, or the `total` option), for progress. */
  total: number | undefined;
  /** The live maps of the LoadBalancer: a map is in it from its start to its end (close() ends them). */
  live: Set<MapRun>;
  /** hedge: true: this map's id for the broker's run times (see TaskSink); 0: off. */
  hedgeGroup: number;
}

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

export class MapRun implements AsyncIterableIterator<unknown>, TaskSink {
  readonly #client: () => Promise<Client>;
  readonly #settings: MapSettings;
  readonly #source: Iterable<unknown> | AsyncIterable<unknown>;
  #clientReady: Client | undefined;
  /**
   * Its lifecycle: not yet iterated ("new"); taking items from the source ("pulling"); the source
   * has ended, or close() cut it short, and the tasks out are still coming back ("drained");
   * ended, by running out, a failure, `break` or an abort ("stopped").
   */
  #state: "new" | "pulling" | "drained" | "stopped" = "new";
  #pipelineId = 0;
  #iterator: AnyIterator | undefined;
  #isAsync = false;
  #pulled = 0;
  #yielded = 0;
  #pending = 0;
  /** Most tasks out at once, for now: grows by one per outcome to `hwm` (see FIRST_WINDOW). */
  #window: number;
  /**
   * Encoded bytes the map holds: inputs of the tasks whose outcome has not arrived, and results
   * not yet yielded (in order, one slow task holds back every result after it).
   */
  #bytesHeld = 0;
  readonly #resultSizes = new ResultSizes();
  /** next() calls under way: a second one waits for the first (#tail), so both settle, in order. */
  #calls = 0;
  #tail: Promise<unknown> = Promise.resolve();
  /** Set when the LoadBalancer closed while items were still to come: thrown once the tasks out are delivered. */
  #cutShort: ZerolbError | undefined;
  readonly #slots: (PendingTask | undefined)[];
  readonly #arrivals = new Deque<PendingTask>();
  /** A pull from the source is under way (an async source's next() may take a while). */
  #pumping = false;
  #failure: { error: unknown } | undefined;
  #waiter: (() => void) | undefined;
  #done = 0;
  #failed = 0;
  #startedAt = 0;
  #progressAt = 0;
  #rate: RateMeter | undefined;
  readonly #onAbort = () => this.#fail(this.#settings.signal!.reason);

  get hedgeGroup(): number {
    return this.#settings.hedgeGroup;
  }

  constructor(client: () => Promise<Client>, source: Iterable<unknown> | AsyncIterable<unknown>, settings: MapSettings) {
    this.#client = client;
    this.#source = source;
    this.#settings = settings;
    // Batched calls: two batches per local slot from the start, so that the first batches are full.
    this.#window = Math.min(Math.max(FIRST_WINDOW, 2 * settings.localSlots * settings.controls.batchSize), settings.hwm);
    this.#slots = settings.ordered ? new Array(settings.hwm) : [];
    settings.signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<unknown>> {
    // The common case, a result already here, without an async function's frame per item.
    if (this.#calls === 0 && this.#state !== "new" && this.#failure === undefined) {
      const task = this.#take();
      if (task) {
        try {
          return Promise.resolve(this.#deliver(task));
        } catch (err) {
          return Promise.reject(err);
        }
      }
    }
    // Calls made before the previous one settled wait for it: each gets its own result, in order.
    const run = this.#calls++ === 0 ? this.#next() : this.#tail.then(() => this.#next(), () => this.#next());
    this.#tail = run;
    return run.finally(() => this.#calls--);
  }

  /**
   * The LoadBalancer is closing: no more items are taken from the source. The tasks already out
   * finish (or are cancelled by close()) and are delivered; then, if the source had more, the
   * iterator throws `error` (a ClosedError), so the consumer knows the map did not run to its end.
   */
  endSource(error: ZerolbError): void {
    if (this.#state !== "pulling") return;
    this.#cutShort = error;
    this.#state = "drained";
    this.#closeIterator();
    this.#wake();
  }

  async #next(): Promise<IteratorResult<unknown>> {
    if (this.#state === "new") await this.#start();
    for (;;) {
      if (this.#failure) return this.#throwFailure();
      const task = this.#take();
      if (task) return this.#deliver(task);
      if (this.#state === "stopped" || (this.#state === "drained" && this.#pending === 0)) {
        this.#stop("the map ended");
        const cutShort = this.#cutShort;
        this.#cutShort = undefined;
        if (cutShort) throw cutShort;
        return { done: true, value: undefined };
      }
      if (this.#canPull()) {
        // A sync source may end, fail or fill the window right here: look again before waiting.
        this.#pump();
        if (!this.#isAsync) continue;
      }
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
  }

  /** `break` out of `for await`: cancel what is queued, free the window. */
  async return(): Promise<IteratorResult<unknown>> {
    this.#stop("the consumer stopped iterating");
    return { done: true, value: undefined };
  }

  settle(task: PendingTask): void {
    if (task.withdrawn && this.#state === "stopped") return;
    this.#pending--;
    this.#bytesHeld += task.resultBytes - task.bytes;
    this.#resultSizes.add(task.resultBytes);
    if (this.#window < this.#settings.hwm) this.#window++;
    if (task.ok) this.#done++;
    else this.#failed++;
    if (this.#settings.onProgress) this.#progress(false);
    if (this.#settings.ordered) this.#slots[task.index % this.#settings.hwm] = task;
    else this.#arrivals.push(task);
    this.#wake();
  }

  async #start(): Promise<void> {
    this.#state = "pulling";
    this.#startedAt = this.#progressAt = performance.now();
    this.#rate = new RateMeter(this.#startedAt);
    const signal = this.#settings.signal;
    try {
      signal?.throwIfAborted();
      this.#clientReady = await this.#client();
      this.#settings.live.add(this);
      if (this.#settings.pipeline) this.#pipelineId = this.#clientReady.definePipeline(this.#settings.pipeline.toWire());
      const source = this.#source as Partial<Iterable<unknown> & AsyncIterable<unknown>>;
      if (typeof source[Symbol.asyncIterator] === "function") {
        this.#iterator = source[Symbol.asyncIterator]!();
        this.#isAsync = true;
      } else if (typeof source[Symbol.iterator] === "function") {
        this.#iterator = source[Symbol.iterator]!();
      } else {
        throw new TypeError(`map() needs an Iterable or AsyncIterable; received ${typeof this.#source}`);
      }
    } catch (err) {
      this.#fail(err);
    }
  }

  #take(): PendingTask | undefined {
    if (!this.#settings.ordered) return this.#arrivals.shift();
    const slot = this.#yielded % this.#settings.hwm;
    const task = this.#slots[slot];
    if (task === undefined || task.index !== this.#yielded) return undefined;
    this.#slots[slot] = undefined;
    return task;
  }

  /** Hands over the next task's outcome (throws a failed task's error unless `settled`), and refills the window. */
  #deliver(task: PendingTask): IteratorResult<unknown> {
    this.#yielded++;
    this.#bytesHeld -= task.resultBytes;
    this.#pump();
    try {
      return { done: false, value: this.#emit(task) };
    } finally {
      this.#clientReady?.recycle(task);
    }
  }

  #emit(task: PendingTask): unknown {
    if (this.#settings.settled) {
      return task.ok
        ? { index: task.index, id: task.id, ok: true, value: task.value }
        : { index: task.index, id: task.id, ok: false, error: task.value };
    }
    if (task.ok) return task.value;
    this.#fail(task.value);
    return this.#throwFailure();
  }

  #throwFailure(): never {
    const error = this.#failure!.error;
    this.#stop("an earlier task failed");
    this.#failure = undefined; // thrown once; afterwards the iterator is done, like a generator's
    throw error;
  }

  #canPull(): boolean {
    return !this.#pumping && this.#state === "pulling" && this.#iterator !== undefined && this.#hasRoom();
  }

  /**
   * Below both high-water marks (items between source and consumer; bytes of unfinished inputs,
   * unyielded results, and the results still to come, as large as those seen so far), and below
   * the window while it is still growing.
   */
  #hasRoom(): boolean {
    return this.#pulled - this.#yielded < this.#settings.hwm &&
      this.#bytesHeld + this.#pending * this.#resultSizes.typical < this.#settings.hwmBytes &&
      this.#pending < this.#window;
  }

  #pump(): void {
    if (this.#pumping || this.#state !== "pulling" || !this.#iterator) return;
    if (this.#isAsync) void this.#pumpAsync();
    else this.#pumpSync();
  }

  #pumpSync(): void {
    const iterator = this.#iterator as Iterator<unknown>;
    this.#pumping = true;
    try {
      while (this.#state === "pulling" && this.#hasRoom()) {
        const r = iterator.next();
        if (r.done) {
          this.#state = "drained";
          break;
        }
        this.#submit(r.value);
      }
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#pumping = false;
    }
    this.#wake();
  }

  async #pumpAsync(): Promise<void> {
    const iterator = this.#iterator as AsyncIterator<unknown>;
    this.#pumping = true;
    try {
      while (this.#state === "pulling" && this.#hasRoom()) {
        const r = await iterator.next();
        if (this.#state !== "pulling") break; // stopped or closed meanwhile: that item is not taken
        if (r.done) {
          this.#state = "drained";
          break;
        }
        this.#submit(r.value);
      }
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#pumping = false;
    }
    this.#wake();
  }

  #submit(item: unknown): void {
    const index = this.#pulled++;
    const { fn, timeout } = this.#settings;
    this.#pending++;
    try {
      this.#bytesHeld += this.#clientReady!.submit(this, item, index, fn, timeout, undefined, undefined, this.#pipelineId, this.#settings.controls).bytes;
    } catch (err) {
      if (!(err instanceof UnsupportedValueError)) {
        // The client refuses tasks (the LoadBalancer failed or closed): the map ends with that.
        this.#pending--;
        this.#pulled--;
        throw err;
      }
      // This item cannot be encoded: it fails alone.
      const task = new PendingTask(this.#clientReady!.reserveSeq(), undefined, index, this, fn, timeout);
      task.resolve(false, new TaskError(`item ${index} cannot be sent to a worker: ${(err as Error).message}`, { id: task.id, index, cause: err }));
    }
  }

  #fail(error: unknown): void {
    this.#failure ??= { error };
    this.#stop(error instanceof Error ? error.message : "aborted");
    this.#wake();
  }

  #progress(final: boolean): void {
    const now = performance.now();
    if (!final && now - this.#progressAt < PROGRESS_INTERVAL_MS) return;
    this.#progressAt = now;
    const finished = this.#done + this.#failed;
    const rate = this.#rate!.rate(now, finished, final);
    const progress: MapProgress = {
      done: this.#done, failed: this.#failed, pulled: this.#pulled, pending: this.#pending, elapsedMs: now - this.#startedAt, rate, final,
    };
    const total = this.#settings.total;
    if (total !== undefined) {
      progress.total = total;
      const eta = etaMs(total, finished, rate);
      if (eta !== undefined) progress.eta = eta;
    }
    try {
      this.#settings.onProgress!(progress);
    } catch {
      // a throwing progress callback must not break the map
    }
  }

  #stop(reason: string): void {
    if (this.#state === "stopped") return;
    const started = this.#state !== "new";
    this.#state = "stopped";
    if (this.#settings.onProgress && started) this.#progress(true);
    this.#settings.signal?.removeEventListener("abort", this.#onAbort);
    if (this.#clientReady && this.#pending > 0) {
      this.#clientReady.withdraw(this.#clientReady.tasksOf(this), reason);
    }
    this.#slots.fill(undefined);
    this.#settings.live.delete(this);
    if (this.#pipelineId > 0) this.#clientReady?.forgetPipeline(this.#pipelineId);
    this.#closeIterator();
  }

  /** Closes the source (a generator's finally blocks run); what it throws on the way out is ignored. */
  #closeIterator(): void {
    const iterator = this.#iterator;
    this.#iterator = undefined;
    try {
      const r = iterator?.return?.();
      if (r && typeof (r as Promise<unknown>).then === "function") (r as Promise<unknown>).then(undefined, () => {});
    } catch {
      // ignore
    }
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }
}
