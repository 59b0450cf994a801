// lb.send() / lb.receive(): manual control. send() waits while `highWaterMark` tasks are sent
// and not yet received (backpressure); receive() hands out outcomes in completion order.
import { CancelledError, type ZerolbError } from "./errors.js";
import type { Client, PendingTask, TaskSink } from "./client.js";
import { Deque } from "./ring.js";

/** What `receive()` resolves to. */
export type Result<T = unknown> = { id: string; ok: true; value: T } | { id: string; ok: false; error: Error };

export interface SendSettings {
  fn: string;
  timeout: number;
  id: string | undefined;
  signal: AbortSignal | undefined;
}

/** Caller-chosen ids remembered after completion, so a repeated id is neither run nor reported twice. */
export const DEFAULT_ID_MEMORY = 100_000;

export class Mailbox implements TaskSink {
  readonly #hwm: number;
  readonly #results = new Deque<Result>();
  readonly #receivers = new Deque<{ resolve: (r: Result) => void; reject: (e: unknown) => void }>();
  readonly #spaceWaiters = new Deque<() => void>();
  /** Sent and not yet received. */
  #outstanding = 0;
  readonly #knownIds = new Map<string, true>();
  readonly #idMemory: number;
  #closed: ZerolbError | undefined;

  constructor(hwm: number, idMemory = DEFAULT_ID_MEMORY) {
    this.#hwm = hwm;
    this.#idMemory = idMemory;
  }

  async send(client: Client, data: unknown, settings: SendSettings): Promise<string> {
    const { signal, id } = settings;
    signal?.throwIfAborted();
    if (id !== undefined && this.#knownIds.has(id)) return id;
    while (this.#outstanding >= this.#hwm) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal!.reason);
        signal?.addEventListener("abort", onAbort, { once: true });
        this.#spaceWaiters.push(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        });
      });
      if (this.#closed) throw this.#closed;
    }
    if (id !== undefined && this.#knownIds.has(id)) return id;
    const task = client.submit(this, data, -1, settings.fn, settings.timeout, id);
    this.#outstanding++;
    if (id !== undefined) this.#remember(id);
    if (signal) {
      const onAbort = () => client.withdraw([task], "its signal was aborted");
      signal.addEventListener("abort", onAbort, { once: true });
      task.onSettled = () => signal.removeEventListener("abort", onAbort);
    }
    return task.id;
  }

  receive(): Promise<Result> {
    const result = this.#results.shift();
    if (result) {
      this.#freeSlot();
      return Promise.resolve(result);
    }
    if (this.#closed && this.#outstanding === 0) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => this.#receivers.push({ resolve, reject }));
  }

  settle(task: PendingTask): void {
    task.onSettled?.();
    const result: Result = task.ok
      ? { id: task.id, ok: true, value: task.value }
      : { id: task.id, ok: false, error: task.value instanceof Error ? task.value : new CancelledError(String(task.value), { id: task.id }) };
    const receiver = this.#receivers.shift();
    if (receiver) {
      this.#freeSlot();
      receiver.resolve(result);
    } else this.#results.push(result);
  }

  /** After close: waiting receivers get `error` once nothing more can arrive. */
  close(error: ZerolbError): void {
    this.#closed = error;
    for (let w = this.#spaceWaiters.shift(); w; w = this.#spaceWaiters.shift()) w();
    if (this.#outstanding - this.#results.size > 0) return;
    for (let r = this.#receivers.shift(); r; r = this.#receivers.shift()) r.reject(error);
  }

  #freeSlot(): void {
    this.#outstanding--;
    this.#spaceWaiters.shift()?.();
  }

  #remember(id: string): void {
    this.#knownIds.set(id, true);
    if (this.#knownIds.size > this.#idMemory) this.#knownIds.delete(this.#knownIds.keys().next().value!);
  }
}
