// A task the caller has submitted and not yet seen finish: everything needed to send it again
// (a restarted broker, a reconnect) and to hand its outcome to whoever waits for it, once.
import { NO_CONTROLS, type TaskControls } from "../wire/task-controls.js";

/** Whoever waits for a task's outcome: a map, or the send/receive mailbox. */
export interface TaskSink {
  settle(task: PendingTask): void;
  /** For hedged tasks (`hedge: true`), the id of their map, whose run times the broker compares; else 0 or absent. */
  readonly hedgeGroup?: number;
}

/** The sink of a task waiting in the spare list: nobody. */
export const NO_SINK: TaskSink = { settle() {} };

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
  /** Retries, priority and batching: its call's controls (one object per call, shared by its tasks). */
  controls: TaskControls = NO_CONTROLS;
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
    this.controls = NO_CONTROLS;
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
