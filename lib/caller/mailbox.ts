// lb.send() / lb.receive(): manual control. send() waits while `highWaterMark` tasks are sent
// and not yet received (backpressure); receive() hands out outcomes in completion order.
import { CancelledError, DependencyError, InvalidOptionError, type ZerolbError } from "../shared/errors.js";
import { type Client } from "./client.js";
import { PendingTask, type TaskSink } from "./pending-task.js";
import { ResultSizes } from "./result-sizes.js";
import PQueue from "p-queue";
import { Deque } from "../shared/ring.js";
import { BoundedMap } from "../shared/bounded-map.js";
import type { TaskControls } from "../wire/task-controls.js";

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
  controls: TaskControls;
}

/** A task sent with `after`, or named in one: a node of `lb.graph()`. */
interface GraphNode {
  after: string[];
  state: "pending" | "done" | "failed";
}

/** How a finished send task is remembered: its seq (to name it) and whether it succeeded. */
interface Finished {
  seq: number;
  ok: boolean;
}

/** Caller-chosen ids remembered after completion, so a repeated id is neither run nor reported twice. */
export const DEFAULT_ID_MEMORY = 100_000;

/** The form of generated ids: a caller-chosen id may not take it (see checkTaskId). */
const GENERATED_ID = /^(0|[1-9][0-9]*)$/;

/**
 * Refuses a caller-chosen id that has the form of a generated one (a decimal integer): generated
 * ids are sequence numbers, and "7" chosen by the caller would one day be task 7's id too. The
 * same rule as BullMQ's ("custom ids cannot be integers").
 */
export function checkTaskId(id: string): void {
  if (GENERATED_ID.test(id)) {
    throw new InvalidOptionError(`send(): options.id ${JSON.stringify(id)} has the form of a generated id (a decimal integer), which zerolb gives tasks sent without an id; choose an id that is not an integer, e.g. ${JSON.stringify(`task-${id}`)}`);
  }
}

export class Mailbox implements TaskSink {
  readonly #hwm: number;
  readonly #hwmBytes: number;
  /** Outcomes not yet received, with the bytes each holds (its result's encoded size). */
  readonly #results = new Deque<{ result: Result; bytes: number }>();
  readonly #receivers = new Deque<{ resolve: (r: Result) => void; reject: (e: unknown) => void }>();
  /**
   * Sends waiting for room stand in line, higher priority first and in arrival order within one,
   * and an aborted one leaves its place (p-queue, with its priorities and abort signals). The line
   * is paused while there is no room and started when room opens: each job admits one send. Only
   * sends that outran a high-water mark go through it: the others pass it by.
   */
  readonly #line = new PQueue({ concurrency: 1, autoStart: false });
  /** Sends let through the line and not yet sent: they count against `highWaterMark`. */
  #admitted = 0;
  /** Sent and not yet received. */
  #outstanding = 0;
  /** Sent and not yet finished. */
  #unfinished = 0;
  /** Encoded bytes held: inputs of unfinished tasks and results not yet received. */
  #bytesHeld = 0;
  readonly #resultSizes = new ResultSizes();
  /** Caller-chosen ids of the tasks not finished yet. */
  readonly #pending = new Map<string, PendingTask>();
  /**
   * The last `idMemory` finished send tasks, by id (chosen or generated): a known id is not run
   * again, and `after` can name it. Only finished tasks leave, oldest first.
   */
  readonly #finished: BoundedMap<string, Finished>;
  /** Chosen ids of the remembered finished tasks by seq, to name a dependency in messages. */
  readonly #chosenIds = new Map<number, string>();
  readonly #graph: BoundedMap<string, GraphNode>;
  readonly #idMemory: number;
  #closed: ZerolbError | undefined;
  /** close() has begun: sends waiting for room are refused with this. */
  #refused: ZerolbError | undefined;

  constructor(hwm: number, hwmBytes: number, idMemory = DEFAULT_ID_MEMORY) {
    this.#hwm = hwm;
    this.#hwmBytes = hwmBytes;
    this.#idMemory = idMemory;
    this.#finished = new BoundedMap(idMemory, (_, { seq }) => this.#chosenIds.delete(seq));
    this.#graph = new BoundedMap(idMemory);
  }

  async send(client: Client, data: unknown, settings: SendSettings): Promise<string> {
    const { signal, id } = settings;
    signal?.throwIfAborted();
    if (id !== undefined && this.#known(id)) return id;
    let admitted = false; // let through the line: its place is counted in #admitted until it is sent
    if (!this.#hasRoom() || this.#line.size > 0 || this.#line.pending > 0) {
      let entered: boolean;
      try {
        const entering = this.#line.add(() => this.#admitOne(), { priority: settings.controls.priority, signal });
        this.#wakeSender(); // there may be room already (the line was only ahead of it)
        entered = await entering;
      } catch (err) {
        throw signal?.aborted ? signal.reason : err;
      }
      if (!entered) throw this.#closed ?? this.#refused;
      admitted = true;
    }
    try {
      if (admitted) {
        admitted = false;
        this.#admitted--;
      }
      if (id !== undefined && this.#known(id)) return id;
      const dependencies = this.#dependencies(client, settings.after, id);
      if (typeof dependencies === "string") return this.#failAtOnce(client, id, settings, dependencies);
      const task = client.submit(this, data, -1, settings.fn, settings.timeout, id, dependencies, 0, settings.controls);
      this.#outstanding++;
      this.#unfinished++;
      this.#bytesHeld += task.bytes;
      if (id !== undefined) this.#pending.set(id, task);
      this.#track(task.id, settings.after);
      if (signal) {
        const onAbort = () => client.withdraw([task], "its signal was aborted");
        signal.addEventListener("abort", onAbort, { once: true });
        task.onSettled = () => signal.removeEventListener("abort", onAbort);
      }
      return task.id;
    } finally {
      // Room may be left for the next waiting send.
      this.#wakeSender();
    }
  }

  receive(): Promise<Result> {
    const entry = this.#results.shift();
    if (entry) {
      this.#received(entry.bytes);
      return Promise.resolve(entry.result);
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
    this.#unfinished--;
    this.#bytesHeld += task.resultBytes - task.bytes;
    this.#resultSizes.add(task.resultBytes);
    if (task.customId !== undefined) this.#pending.delete(task.customId);
    this.#remember(task.id, task.seq, task.ok);
    const node = this.#graph.get(task.id);
    if (node) node.state = task.ok ? "done" : "failed";
    const result: Result = task.ok
      ? { id: task.id, ok: true, value: task.value }
      : { id: task.id, ok: false, error: task.value instanceof Error ? task.value : new CancelledError(String(task.value), { id: task.id }) };
    const receiver = this.#receivers.shift();
    if (receiver) {
      this.#received(task.resultBytes);
      receiver.resolve(result);
    } else {
      this.#results.push({ result, bytes: task.resultBytes });
      this.#wakeSender(); // its input's bytes are free now
    }
  }

  /** The caller's id of a finished send task by seq, when still remembered (for messages). */
  nameOf(seq: number): string | undefined {
    return this.#chosenIds.get(seq) ?? (this.#finished.has(String(seq)) ? String(seq) : undefined);
  }

  /** close() has begun: sends waiting for room are refused with `error` (those sent go on). */
  refuseSenders(error: ZerolbError): void {
    this.#refused = error;
    this.#wakeSender();
  }

  /** After close: waiting senders and, once nothing more can arrive, receivers get `error`. */
  close(error: ZerolbError): void {
    this.#closed = error;
    this.#wakeSender();
    if (this.#outstanding - this.#results.size > 0) return;
    for (let r = this.#receivers.shift(); r; r = this.#receivers.shift()) r.reject(error);
  }

  /**
   * Below both high-water marks: tasks sent and not received, and bytes held (inputs of the
   * unfinished tasks, results not yet received, and for the unfinished ones, their results to come
   * as large as the results seen so far).
   */
  #hasRoom(): boolean {
    return this.#outstanding + this.#admitted < this.#hwm && this.#bytesHeld + this.#unfinished * this.#resultSizes.typical < this.#hwmBytes;
  }

  /**
   * The job of the send at the head of the line, run when there is room: it takes one place (one
   * more admitted) and pauses the line if that was the last. After close() began: admits none.
   */
  #admitOne(): boolean {
    if (this.#closed ?? this.#refused) return false;
    this.#admitted++;
    if (!this.#hasRoom()) this.#line.pause();
    return true;
  }

  /** Room may have opened (or close() began): the line moves on. */
  #wakeSender(): void {
    if (this.#line.isPaused && this.#line.size > 0 && (this.#hasRoom() || this.#closed || this.#refused)) this.#line.start();
  }

  /** An outcome was handed out: its slot and its result's bytes are free. */
  #received(bytes: number): void {
    this.#outstanding--;
    this.#bytesHeld -= bytes;
    this.#wakeSender();
  }

  #known(id: string): boolean {
    return this.#pending.has(id) || this.#finished.has(id);
  }

  #remember(id: string, seq: number, ok: boolean): void {
    if (id !== String(seq)) this.#chosenIds.set(seq, id);
    this.#finished.touch(id, { seq, ok });
  }

  /**
   * A task whose dependency `failedDependency` has failed: it never runs and fails at once with a
   * DependencyError (its id is remembered like any other).
   */
  #failAtOnce(client: Client, id: string | undefined, settings: SendSettings, failedDependency: string): string {
    const seq = client.reserveSeq();
    const task = new PendingTask(seq, id, -1, this, settings.fn, settings.timeout);
    this.#outstanding++;
    this.#unfinished++;
    this.#track(task.id, settings.after);
    const cause = Object.assign(new Error(`task ${failedDependency} did not succeed`), { name: "DependencyError", dependency: failedDependency });
    task.resolve(false, new DependencyError(`task ${task.id} did not run: task ${failedDependency} it depends on did not succeed`, { id: task.id, cause }));
    return task.id;
  }

  /**
   * Resolves `after` ids to the seqs of those still pending, or to the id of one that failed;
   * throws a TypeError for an unknown id, the id of a map's task, or a cycle.
   */
  #dependencies(client: Client, after: string[] | undefined, id: string | undefined): number[] | string | undefined {
    if (after === undefined || after.length === 0) return undefined;
    const seqs: number[] = [];
    for (const dep of after) {
      if (dep === id) throw new InvalidOptionError(`send(): task "${id}" cannot run after itself (a cycle)`);
      const pending = this.#pending.get(dep) ?? (GENERATED_ID.test(dep) ? client.outstandingTask(Number(dep)) : undefined);
      if (pending) {
        if (pending.sink !== this) throw new InvalidOptionError(`send(): options.after names task "${dep}", a task of a map(); after takes the ids of tasks sent with send()`);
        seqs.push(pending.seq);
        continue;
      }
      const finished = this.#finished.get(dep);
      if (!finished) {
        throw new InvalidOptionError(`send(): options.after names unknown task id "${dep}" (never sent with send(), or finished before the last ${this.#idMemory} sent tasks: raise idMemory)`);
      }
      if (!finished.ok) return dep;
    }
    return seqs;
  }

  #track(id: string, after: string[] | undefined): void {
    if (after === undefined || after.length === 0) return;
    for (const dep of after) if (!this.#graph.has(dep)) this.#graph.set(dep, { after: [], state: this.#stateOf(dep) });
    this.#graph.set(id, { after: [...after], state: "pending" });
  }

  #stateOf(id: string): GraphNode["state"] {
    const finished = this.#finished.get(id);
    return finished === undefined ? "pending" : finished.ok ? "done" : "failed";
  }
}

