// The next Submit message: tasks submitted in one turn of the event loop (or while the previous
// send was in flight) leave together, their inputs encoded straight into one body.
import { BodyRanges } from "../wire/body-ranges.js";
import { BodyWriter } from "../wire/body-writer.js";
import { appendValue } from "../wire/codec.js";
import { ColumnBuilder } from "../wire/columns.js";
import type { Frames } from "../wire/outbox.js";
import { encodeHeader, Kind } from "../wire/protocol.js";
import { TaskBatchWriter } from "../wire/task-batch.js";
import type { PendingTask } from "./pending-task.js";

/** A task that did not go because a task it runs after had failed, and which one. */
export interface FailedDependency {
  task: PendingTask;
  dependency: number;
}

/** Where the caller stands on a seq, as the batch asks while it builds a Submit. */
export interface Outcomes {
  /** The task is submitted and not finished. */
  isOutstanding(seq: number): boolean;
  /** The task has failed (it is remembered as such). */
  hasFailed(seq: number): boolean;
  /** A task of this batch will not go, since a task it runs after failed: it is finished here. */
  dropForDependency(task: PendingTask): void;
}

export class SubmitBatch {
  /** Chunked: a large input gets a buffer (a frame of the Submit) of its own, and is copied once. */
  #body = new BodyWriter(16 * 1024, { chunked: true });
  /**
   * The tasks of the batch: the first `#length` entries of a list kept for the client's life (a
   * list per batch would be alive, and copied by the young-generation GC, whenever a collection ran
   * while a batch was being filled, which is most of the time).
   */
  readonly #tasks: (PendingTask | undefined)[] = [];
  #length = 0;
  /** Tasks of the batch withdrawn before it left: cut out of the body. */
  #withdrawn = 0;
  /**
   * The next Submit lists every outstanding task (`sync`): the connection to the broker was made
   * again (a freeze of either side, or a new broker), and whatever was on its way either way may
   * be lost, so the broker is told exactly what the caller still waits for.
   */
  #sync = false;
  readonly #writer = new TaskBatchWriter();

  /** Something is to be sent. */
  get pending(): boolean {
    return this.#length > 0 || this.#sync;
  }

  /**
   * Encodes a new task's input at the end of the body and returns its size. Throws the encoder's
   * error, and then appends nothing.
   */
  appendInput(data: unknown): number {
    const start = this.#body.byteLength;
    appendValue(this.#body, data, "input");
    return this.#body.byteLength - start;
  }

  /** The task whose input appendInput() just added. */
  add(task: PendingTask): void {
    task.queued = true;
    this.#tasks[this.#length++] = task;
  }

  /** A task sent before goes again: its input bytes are copied from the body it went in. */
  resend(task: PendingTask): void {
    this.#body.append(task.sentIn!.subarray(task.sentStart, task.sentEnd));
    task.sentIn = undefined;
    this.add(task);
  }

  /** A task of this batch was withdrawn before it left. */
  withdrawn(): void {
    this.#withdrawn++;
  }

  /** The next Submit says it lists every outstanding task (see #sync). */
  markSync(): void {
    this.#sync = true;
  }

  /**
   * The Submit message for what has accumulated, and the tasks that did not go since a task they
   * run after has failed (to be settled by the caller once the message is built: settling runs
   * their sink's code). Each task sent records where its input went, to be sent again if need be.
   */
  take(outcomes: Outcomes): { frames: Frames; failed: FailedDependency[] | undefined } {
    const tasks = this.#tasks;
    const n = this.#length;
    this.#length = 0;
    const sync = this.#sync;
    this.#sync = false;
    const failed = this.#failedDependencies(n, outcomes);
    const { frames: body, lengths } = this.#body.takeFrames();
    // Tasks withdrawn (or failed) before they left are cut out of the body; otherwise it goes as it is.
    const cut = this.#withdrawn + (failed?.length ?? 0);
    this.#withdrawn = 0;
    const writer = this.#writer;
    const len: number[] = cut > 0 ? [] : lengths;
    const pipe = new ColumnBuilder<number>();
    const hedge = new ColumnBuilder<number>();
    let after: (number[] | null)[] | undefined;
    const kept = cut > 0 ? new BodyRanges() : undefined;
    // Where each input lies: frame `part` of the body, from `start` to `offset` (none straddles two).
    let part = 0;
    let offset = 0;
    for (let i = 0; i < n; i++) {
      const task = tasks[i]!;
      tasks[i] = undefined;
      if (offset === body[part]?.length && part < body.length - 1) {
        part++;
        offset = 0;
      }
      const start = offset;
      offset += lengths[i]!;
      task.queued = false;
      if (task.withdrawn || task.sentStart < 0) continue;
      task.sentIn = body[part]!;
      task.sentStart = start;
      task.sentEnd = offset;
      writer.add(task.seq, task.fn, task.timeout, task.deaths, task.customId ?? "", task.controls);
      pipe.push(task.pipeline);
      hedge.push(task.sink.hedgeGroup ?? 0);
      if (task.after) {
        // Only dependencies still outstanding go to the broker: those that succeeded are done with.
        after ??= new Array<null>(writer.size - 1).fill(null);
        after.push(task.after.filter((s) => outcomes.isOutstanding(s)));
      } else after?.push(null);
      if (kept) {
        len.push(offset - start);
        kept.add(body[part]!, start, offset);
      }
    }
    const fields = writer.take(len);
    fields.pipe = pipe.take();
    // The map a hedged task belongs to (0: not hedged); absent when nothing is, as it mostly is.
    const hg = hedge.take();
    if (hg !== 0) fields.hg = hg;
    if (after) fields.after = after;
    if (sync) fields.sync = true;
    // Tasks cut out: what is kept is joined into one frame (rare: a withdrawal before the send).
    return { frames: [encodeHeader(Kind.Submit, fields), ...(kept ? [kept.take()] : body)], failed };
  }

  /** Tasks of the batch with a dependency that has failed: marked to be cut (sentStart -1) and finished. */
  #failedDependencies(n: number, outcomes: Outcomes): FailedDependency[] | undefined {
    let failed: FailedDependency[] | undefined;
    for (let i = 0; i < n; i++) {
      const task = this.#tasks[i]!;
      if (!task.after || task.withdrawn) continue;
      const dependency = task.after.find((s) => outcomes.hasFailed(s));
      if (dependency === undefined) continue;
      outcomes.dropForDependency(task);
      task.sentStart = -1;
      (failed ??= []).push({ task, dependency });
    }
    return failed;
  }
}
