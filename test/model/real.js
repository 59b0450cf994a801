// The real system of the model test: a LoadBalancer with two local workers running
// fixtures/model-handler.js, its execution log, and what the commands keep between steps (abort
// controllers, map iterators, send() calls still waiting for room). Also the bounded wait every
// step uses, and the clean-up that proves nothing is left running.
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { LoadBalancer } from "../../dist/index.js";
import { alive, fixture, ipcDirsLeft, within } from "../helpers.js";
import { LIMITS } from "./model.js";
import { RunLog } from "./run-log.js";

/**
 * How long one call may take before the step counts as hung. Far above anything a loaded machine
 * needs (tasks sleep at most 400 ms): reaching it means the call would never settle.
 */
export const BOUND_MS = 15_000;

/** Thrown when a call did not settle within its bound: never a result the model judges. */
export class Hang extends Error {}

/**
 * `{ value }` or `{ error }` once `promise` settles; throws a Hang naming `what` if it does not
 * settle within `ms`.
 */
export async function settle(promise, what, ms = BOUND_MS) {
  try {
    return await within(promise.then((value) => ({ value }), (error) => ({ error })), ms, what);
  } catch (err) {
    throw new Hang(err.message);
  }
}

/** Lets pending I/O and the LoadBalancer's own send loops run (a Withdraw leaves, say). */
export async function letIoRun(n = 5) {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

export class Real {
  /** Pids of every broker and worker seen during the run: all must be gone after close(). */
  pidsSeen = new Set();
  /** AbortControllers and reasons by send and map number. */
  sendAborts = new Map();
  mapAborts = new Map();
  /** Map iterators by map number. */
  iterators = new Map();
  /** send() promises of blocked sends, by send number (settled into the model in the background). */
  blocked = new Map();
  closed = false;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "zerolb-model-"));
    this.log = new RunLog(join(this.dir, "log"));
    this.lb = new LoadBalancer({
      worker: fixture("model-handler.js"),
      workers: LIMITS.workers,
      highWaterMark: LIMITS.highWaterMark,
      idMemory: LIMITS.idMemory,
      maxAttempts: LIMITS.maxAttempts,
      closeTimeout: LIMITS.closeTimeout,
      workerData: { log: this.log.path },
    });
    this.samplePids();
  }

  samplePids() {
    const { broker, workers } = this.lb.pids;
    if (broker) this.pidsSeen.add(broker);
    for (const pid of workers) this.pidsSeen.add(pid);
  }

  /** Child processes of this run still alive, and ipc directories this process left behind. */
  leftovers() {
    return { pids: [...this.pidsSeen].filter(alive), ipc: ipcDirsLeft() };
  }

  /**
   * After a failed run: close by force if the run did not close, then kill by pid whatever is
   * still alive and remove what is left on disk, so the next run starts clean.
   */
  async dispose() {
    if (!this.closed) {
      this.closed = true;
      this.samplePids();
      await settle(this.lb.close({ force: true }), "close({ force: true }) after a failed run").catch(() => {});
    }
    for (const pid of this.leftovers().pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    for (const name of ipcDirsLeft()) for (const d of new Set([tmpdir(), "/tmp"])) rmSync(join(d, name), { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
