// lb.send() / lb.receive(): manual control. send() waits while `highWaterMark` tasks are sent
// and not yet received (backpressure); receive() hands out outcomes in completion order.
import { CancelledError, DependencyError, InvalidOptionError, type ZerolbError } from "./errors.js";
import { PendingTask, type Client, type TaskSink } from "./client.js";
import { Deque } from "./ring.js";

/** What `receive()` resolves to. */
export type Result<T = unknown> =
  | {
      /** The task id. */
      id: string;
      /** It succeeded. */
      ok: true;
      /** The handler's result. */
      value: T;
    }
  | {
      /** The task id. */
      id: string;
      /** It failed. */
      ok: false;
      /** Why: a TaskError (or subclass) with a stable `code`. */
      error: Error;
    };

export interface SendSettings {
  fn: string;
  timeout: number;
  id: string | undefined;
  after: string[] | undefined;
  signal: AbortSignal | undefined;
}

/** A task sent with `after`, or named in one: a node of `lb.graph()`. */
interface GraphNode {
  after: string[];
  state: "pending" | "done" | "failed";
}

/** Caller-chosen ids remembered after completion, so a repeated id is neither run nor reported twice. */
export const DEFAULT_ID_MEMORY = 100_000;

export class Mailbox implements TaskSink {
  readonly #hwm: number;
  readonly #hwmBytes: number;
  readonly #results = new Deque<Result>();
  readonly #receivers = new Deque<{ resolve: (r: Result) => void; reject: (e: unknown) => void }>();
  readonly #spaceWaiters = new Deque<() => void>();
  /** Sent and not yet received. */
  #outstanding = 0;
  /** Encoded input bytes of the sent tasks whose outcome has not arrived. */
  #bytesOut = 0;
  /** Caller-chosen ids: the task while outstanding, then its outcome. */
  readonly #knownIds = new Map<string, PendingTask | "ok" | "failed">();
  readonly #graph = new Map<string, GraphNode>();
  readonly #idMemory: number;
  #closed: ZerolbError | undefined;

  constructor(hwm: number, hwmBytes: number, idMemory = DEFAULT_ID_MEMORY) {
    this.#hwm = hwm;
    this.#hwmBytes = hwmBytes;
    this.#idMemory = idMemory;
  }

  async send(client: Client, data: unknown, settings: SendSettings): Promise<string> {
    const { signal, id } = settings;
    signal?.throwIfAborted();
    if (id !== undefined && this.#knownIds.has(id)) return id;
    while (!this.#hasRoom()) {
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
    const { seqs, failedDependency } = this.#dependencies(client, settings.after, id);
    let task: PendingTask;
    if (failedDependency !== undefined) {
      task = new PendingTask(-1, id ?? `failed-${failedDependency}-${this.#outstanding}`, -1, this, settings.fn, settings.timeout);
      this.#outstanding++;
      this.#track(task, settings.after);
      task.resolve(false, new DependencyError(`task ${task.id} did not run: task ${failedDependency} it depends on did not succeed`, { id: task.id }));
      return task.id;
    }
    task = client.submit(this, data, -1, settings.fn, settings.timeout, id, seqs);
    this.#outstanding++;
    this.#bytesOut += task.bytes;
    this.#track(task, settings.after);
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

  /** DOT text of the tasks sent with `after` and the tasks they name: pending, done or failed. */
  graph(): string {
    const lines = ["digraph tasks {", "  rankdir=LR;"];
    const color = { pending: "gray", done: "darkgreen", failed: "red" } as const;
    for (const [id, node] of this.#graph) lines.push(`  ${JSON.stringify(id)} [label=${JSON.stringify(`${id}\n${node.state}`)}, color=${color[node.state]}];`);
    for (const [id, node] of this.#graph) for (const dep of node.after) lines.push(`  ${JSON.stringify(dep)} -> ${JSON.stringify(id)};`);
    lines.push("}");
    return `${lines.join("\n")}\n`;
  }

  settle(task: PendingTask): void {
    task.onSettled?.();
    this.#bytesOut -= task.bytes;
    // Room again by size: one waiting send may go (each outcome that arrives frees room for one).
    if (this.#hasRoom()) this.#spaceWaiters.shift()?.();
    if (task.customId !== undefined && this.#knownIds.has(task.customId)) this.#knownIds.set(task.customId, task.ok ? "ok" : "failed");
    const node = this.#graph.get(task.id);
    if (node) node.state = task.ok ? "done" : "failed";
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

  /** Below both high-water marks: tasks sent and not received, and bytes of unfinished inputs. */
  #hasRoom(): boolean {
    return this.#outstanding < this.#hwm && this.#bytesOut < this.#hwmBytes;
  }

  #freeSlot(): void {
    this.#outstanding--;
    this.#spaceWaiters.shift()?.();
  }

  /** Resolves `after` ids to the seqs still pending; throws a TypeError for an unknown id or a cycle. */
  #dependencies(client: Client, after: string[] | undefined, id: string | undefined): { seqs: number[] | undefined; failedDependency?: string } {
    if (after === undefined || after.length === 0) return { seqs: undefined };
    const seqs: number[] = [];
    for (const dep of after) {
      if (dep === id) throw new InvalidOptionError(`send(): task "${id}" cannot run after itself (a cycle)`);
      const known = this.#knownIds.get(dep) ?? (/^\d+$/.test(dep) ? client.outcomeOf(Number(dep)) : undefined);
      if (known === undefined) {
        throw new InvalidOptionError(`send(): options.after names unknown task id "${dep}" (never sent, or finished before the last ${this.#idMemory} ids)`);
      }
      if (known === "failed") return { seqs: undefined, failedDependency: dep };
      if (known !== "ok") seqs.push(known.seq);
    }
    return { seqs };
  }

  #track(task: PendingTask, after: string[] | undefined): void {
    if (task.customId !== undefined && task.seq >= 0) {
      this.#knownIds.set(task.customId, task);
      if (this.#knownIds.size > this.#idMemory) this.#knownIds.delete(this.#knownIds.keys().next().value!);
    }
    if (after === undefined || after.length === 0) return;
    for (const dep of after) if (!this.#graph.has(dep)) this.#graph.set(dep, { after: [], state: this.#stateOf(dep) });
    this.#graph.set(task.id, { after: [...after], state: "pending" });
    while (this.#graph.size > this.#idMemory) this.#graph.delete(this.#graph.keys().next().value!);
  }

  #stateOf(id: string): GraphNode["state"] {
    const known = this.#knownIds.get(id);
    return known === "ok" ? "done" : known === "failed" ? "failed" : "pending";
  }
}
