// A task a worker holds, from the Tasks message that brought it to the result that answers it.
import type { TaskContext } from "./task-context.js";

export class HeldTask {
  finished = false;
  started = 0;
  /** Its handler returned a promise that has not settled (nor timed out) yet. */
  holdsSlot = false;
  /** Its timeout, or after a Cancel while it runs, the grace its handler has to let go. */
  timer: NodeJS.Timeout | undefined;
  constructor(
    public seq: number,
    public fn: string,
    public ctx: TaskContext,
    /** The decoded input, or why it could not be decoded (the task then fails with a TypeError). */
    public input: unknown,
    public inputError: Error | undefined,
    public timeout: number,
  ) {}

  /** A spare task (one that ended synchronously) made a new one. */
  renew(seq: number, fn: string, ctx: TaskContext, input: unknown, inputError: Error | undefined, timeout: number): this {
    this.seq = seq;
    this.fn = fn;
    this.ctx = ctx;
    this.input = input;
    this.inputError = inputError;
    this.timeout = timeout;
    this.finished = false;
    this.started = 0;
    return this;
  }
}
