// How a failed task's outcome, as it arrives from the broker (a status and an error value), becomes
// the error the caller sees: the class follows the status, the worker's error is the cause.
import { CancelledError, DependencyError, TaskError, TimeoutError, WorkerExitError } from "../shared/errors.js";
import { deserializeError } from "../wire/error-wire.js";
import { Status } from "../wire/protocol.js";

/** The error class a failed task's caller sees, by status. */
export function taskErrorFromWire(status: number, info: unknown, task: { id: string; index: number }, attempts = 1): TaskError {
  const error = errorByStatus(status, info, task);
  // Every run it took: retries after failures and runs lost with a worker that died.
  error.attempts = attempts;
  return error;
}

function errorByStatus(status: number, info: unknown, task: { id: string; index: number }): TaskError {
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
    case Status.WorkerExit:
      return new WorkerExitError(`task ${task.id} failed: ${cause.message}`, init);
    case Status.Dependency:
      return new DependencyError(cause.message, init);
    case Status.Cancelled:
      return new CancelledError(cause.message, init);
    default:
      return new TaskError(`task ${task.id} failed: ${cause.name}: ${cause.message}`, init);
  }
}
