// How a failed task's outcome, as it arrives from the broker (a status and an error value), becomes
// the error the caller sees: the class follows the status, the worker's error is the cause.
import { CancelledError, DependencyError, TaskError, TimeoutError, WorkerExitError } from "../shared/errors.js";
import { deserializeError } from "../wire/error-wire.js";
import { Status } from "../wire/protocol.js";

/** How the local worker process that last held a task ended (what the supervisor saw). */
export interface ProcessExit {
  code: number | null;
  signal: string | null;
  description: string;
  /** The last 4 KiB it wrote to stderr. */
  stderr: string;
}

/**
 * The error class a failed task's caller sees, by status. `attempts`: every run it took (retries
 * after failures and runs lost with a worker that died). `exit`: how the local worker that last
 * held it ended, for a WorkerExitError (undefined for remote workers).
 */
export function taskErrorFromWire(status: number, info: unknown, task: { id: string; index: number }, attempts = 1, exit?: ProcessExit): TaskError {
  const error = errorByStatus(status, info, task, exit);
  if (!(error instanceof WorkerExitError) || error.attempts === 0) error.attempts = attempts;
  return error;
}

function errorByStatus(status: number, info: unknown, task: { id: string; index: number }, exit: ProcessExit | undefined): TaskError {
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
    case Status.WorkerExit: {
      const attempts = (info as { attempts?: unknown } | null)?.attempts;
      return new WorkerExitError(`task ${task.id} failed: ${cause.message}`, {
        ...init,
        attempts: typeof attempts === "number" ? attempts : 0,
        exitCode: exit?.code ?? undefined,
        signal: exit?.signal ?? undefined,
        stderr: exit?.stderr,
      });
    }
    case Status.Dependency:
      return new DependencyError(cause.message, init);
    case Status.Cancelled:
      return new CancelledError(cause.message, init);
    default:
      return new TaskError(`task ${task.id} failed: ${cause.name}: ${cause.message}`, init);
  }
}
