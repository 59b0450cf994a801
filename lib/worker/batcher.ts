// Batched handler calls (map's `batchSize`): tasks that ask for batches of n gather here, per
// handler, until n have come or `batchWait` ms have passed since the first; then the batch takes
// one of the worker's `concurrency` slots, and the handler is called once with their inputs.
import { performance } from "node:perf_hooks";
import { TimeoutError } from "../shared/errors.js";
import { serializeError } from "../wire/error-wire.js";
import { Status } from "../wire/protocol.js";
import type { Handler } from "./handler-module.js";
import type { HeldTask } from "./held-task.js";
import { LATER, type StartOutcome } from "./slots.js";

/** What the batcher needs of the task runner. */
export interface BatchHost {
  /** A batch is full, or waited long enough: queue it for a slot. */
  ready(batch: Batch): void;
  /** The handler for `fn`, or why there is none. */
  handler(fn: string): Handler | string;
  /** A task's outcome (to the result sink). */
  finish(task: HeldTask, status: number, value: unknown): void;
  /** A batch that held a slot let go of it. */
  release(): void;
  /** Whether to let the event loop turn before starting (see TaskRunner). */
  mustYield(): boolean;
  /** The handler returned without a promise (true) or with one. */
  ranSync(sync: boolean): void;
}

/** Tasks run by one call of a batch handler. */
export class Batch {
  readonly members: HeldTask[] = [];
  /** Waiting to fill (batchWait), then the batch's timeout while it runs. */
  timer: NodeJS.Timeout | undefined;
  /** Its handler returned a promise that has not settled (nor timed out) yet. */
  holdsSlot = false;
  finished = false;
  constructor(readonly fn: string) {}
}

export class Batcher {
  /** Batches filling, by batch size and handler name. */
  readonly #open = new Map<string, Batch>();
  /** Batches whose handler returned a promise: each holds a slot until it settles. */
  readonly #running = new Set<Batch>();
  readonly #host: BatchHost;

  constructor(host: BatchHost) {
    this.#host = host;
  }

  /** A task that runs in batches of `size`, waiting at most `wait` ms for the batch to fill. */
  add(task: HeldTask, size: number, wait: number): void {
    const key = `${size}:${task.fn}`;
    let batch = this.#open.get(key);
    if (!batch) {
      const opened = new Batch(task.fn);
      this.#open.set(key, opened);
      opened.timer = setTimeout(() => this.#close(key, opened), wait);
      batch = opened;
    }
    batch.members.push(task);
    if (batch.members.length >= size) this.#close(key, batch);
  }

  /** Forgets the batches filling (their tasks are dropped or handed back by the runner). */
  clear(): void {
    for (const batch of this.#open.values()) clearTimeout(batch.timer);
    this.#open.clear();
  }

  #close(key: string, batch: Batch): void {
    if (this.#open.get(key) !== batch) return;
    this.#open.delete(key);
    clearTimeout(batch.timer);
    batch.timer = undefined;
    this.#host.ready(batch);
  }

  /** The runner was reset: running batches let go of their slots (their tasks are dropped). */
  dropRunning(): void {
    for (const batch of this.#running) {
      batch.finished = true;
      clearTimeout(batch.timer);
      batch.holdsSlot = false;
      this.#host.release();
    }
    this.#running.clear();
  }

  /**
   * Runs a batch: one handler call with the inputs of its tasks (those not cancelled meanwhile),
   * whose array of results answers them one by one. A throw, a rejection or a timeout fails each.
   * False if done already, true if it holds a slot until its promise settles, LATER: not now.
   */
  run(batch: Batch): StartOutcome {
    const host = this.#host;
    if (host.mustYield()) return LATER;
    const handler = host.handler(batch.fn);
    const runs: HeldTask[] = [];
    for (const task of batch.members) {
      if (task.finished) continue;
      if (typeof handler === "string" || task.inputError) {
        const why = typeof handler === "string" ? handler : `task input cannot be decoded: ${task.inputError!.message}`;
        host.finish(task, Status.Error, serializeError(new TypeError(why)));
      } else runs.push(task);
    }
    if (runs.length === 0 || typeof handler === "string") return false;
    const started = performance.now();
    const inputs = runs.map((task) => task.input);
    for (const task of runs) task.started = started;
    let out: unknown;
    let then: unknown;
    try {
      // The batch's context is its first task's (its id, attempt and signal).
      out = handler(inputs, runs[0]!.ctx);
      then = (typeof out === "object" && out !== null) || typeof out === "function" ? (out as { then?: unknown }).then : undefined;
    } catch (err) {
      this.#settle(batch, runs, Status.Error, serializeError(err));
      return false;
    }
    if (typeof then !== "function") {
      host.ranSync(true);
      this.#settle(batch, runs, Status.Ok, out);
      return false;
    }
    host.ranSync(false);
    const timeout = runs[0]!.timeout;
    if (timeout > 0) {
      batch.timer = setTimeout(() => {
        const err = new TimeoutError(`the batch of task ${runs[0]!.ctx.id} (${runs.length} tasks) timed out after ${timeout} ms`, { id: runs[0]!.ctx.id });
        for (const task of runs) task.ctx.abort(err);
        this.#settle(batch, runs, Status.Timeout, serializeError(err));
      }, timeout);
    }
    try {
      then.call(
        out,
        (value: unknown) => this.#settle(batch, runs, Status.Ok, value),
        (err: unknown) => this.#settle(batch, runs, Status.Error, serializeError(err)),
      );
    } catch (err) {
      this.#settle(batch, runs, Status.Error, serializeError(err));
    }
    if (batch.finished) return false;
    batch.holdsSlot = true;
    this.#running.add(batch);
    return true;
  }

  /** A batch ended: each task gets its entry of the results, or the batch's error. */
  #settle(batch: Batch, runs: HeldTask[], status: number, value: unknown): void {
    if (batch.finished) return;
    batch.finished = true;
    clearTimeout(batch.timer);
    if (status === Status.Ok && (!Array.isArray(value) || value.length !== runs.length)) {
      const got = Array.isArray(value) ? `an array of ${value.length} results` : `${value === null ? "null" : typeof value}, not an array`;
      const err = new TypeError(`a batch handler must return an array of one result per input, in order: it was called with ${runs.length} inputs and returned ${got}`);
      status = Status.Error;
      value = serializeError(err);
    }
    for (let i = 0; i < runs.length; i++) this.#host.finish(runs[i]!, status, status === Status.Ok ? (value as unknown[])[i] : value);
    if (!batch.holdsSlot) return;
    batch.holdsSlot = false;
    this.#running.delete(batch);
    this.#host.release();
  }
}
