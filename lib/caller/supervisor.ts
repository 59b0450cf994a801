// Starts, watches, restarts and stops the caller's child processes: one broker and the local
// workers. Children are forked with an IPC channel used only for the start-up handshake; when the
// caller dies the channel closes and the children exit, so none is left behind as an orphan.
import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { BrokerConfig } from "../wire/child-messages.js";
import { logger } from "../shared/debug.js";
import { StartupError } from "../shared/errors.js";
import { deserializeError } from "../wire/error-wire.js";
import type { ChildMessage } from "../wire/child-messages.js";
import { loaderFlags } from "./typescript-loader.js";
import type { WorkerConfig } from "../wire/child-messages.js";
import { BoundedMap } from "../shared/bounded-map.js";
import { StderrTail } from "./stderr-tail.js";

const log = logger("caller");

const BROKER_ENTRY = childEntry("broker");
const WORKER_ENTRY = childEntry("worker");

/** How long after a worker's exit its stderr may take to reach its end before the exit is recorded without it. */
const STDERR_AFTER_EXIT_MS = 500;
/** Backoff before restarting a worker that ended by itself: doubles per quick death, capped. */
const RESTART_BASE_MS = 50;
const RESTART_MAX_MS = 5000;
/** A worker that lived this long resets its slot's backoff. */
const HEALTHY_AFTER_MS = 5000;
/**
 * Consecutive start-up failures of one slot (the module, `setup()` or the process itself failed)
 * before it stops being restarted.
 */
const MAX_START_FAILURES = 3;
/**
 * Consecutive start-ups of one slot cut short by a signal from outside (SIGKILL, SIGTERM, …) before
 * it counts as unable to start: far more than random kills ever line up, few enough that a setup()
 * the kernel's out-of-memory killer ends every time does not leave `ready` waiting for ever.
 */
const MAX_KILLED_STARTS = 10;
/**
 * Signals a process raises on itself when it crashes (a native fault, abort()): its own failure.
 * Every other signal came from outside (a person, a test, the OOM killer, a container runtime).
 */
const CRASH_SIGNALS = new Set<NodeJS.Signals>(["SIGSEGV", "SIGABRT", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGSYS"]);

/**
 * When to restart a worker that died after `livedMs`, with `quickDeaths` quick deaths of its slot in
 * a row before: a worker killed from outside is replaced at once (nothing is wrong with it or its
 * handler); one that ended by itself soon after starting backs off (50 ms, doubling to 5 s), so a
 * crash loop does not spin; one that lived HEALTHY_AFTER_MS starts its slot's count afresh.
 */
export function restartDelay(outside: boolean, livedMs: number, quickDeaths: number): { delay: number; quickDeaths: number } {
  const quick = outside || livedMs >= HEALTHY_AFTER_MS ? 0 : quickDeaths + 1;
  return { delay: quick === 0 ? 0 : Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (quick - 1)), quickDeaths: quick };
}

/** Whether a child that ended this way was ended from outside rather than failing by itself. */
export function killedFromOutside(signal: NodeJS.Signals | null): boolean {
  return signal !== null && !CRASH_SIGNALS.has(signal);
}

/** How a local child process ended. */
export interface ChildExit {
  pid: number;
  /** Its exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: NodeJS.Signals | null;
  /** "exit code 3", "signal SIGKILL". */
  description: string;
  /** The last STDERR_TAIL_BYTES it wrote to standard error (workers only; "" for the broker). */
  stderr: string;
}

export interface SupervisorEvents {
  /** A local worker finished setup() and joined. */
  workerReady(): void;
  /** The pool cannot run: start-up failed before any worker was ready, or every slot crash-looped. */
  fatal(error: Error): void;
  /** The broker process ended while the supervisor was not stopping it. */
  brokerExited(description: string): void;
  /** A local worker process ended (its stderr read to the end), whatever the reason. */
  workerExited?(exit: ChildExit): void;
}

interface WorkerSlot {
  child: ChildProcess | undefined;
  startedAt: number;
  /** Deaths by its own hand soon after starting, in a row: the restart backoff grows with them. */
  quickDeaths: number;
  /** Start-ups that failed by their own hand (module, setup(), exit) in a row. */
  startFailures: number;
  /** Start-ups cut short by a signal from outside, in a row. */
  killedStarts: number;
  timer: NodeJS.Timeout | undefined;
  /** Its worker said it is leaving to be replaced (maxTasksPerWorker, maxWorkerMemory): not a crash. */
  recycling: boolean;
}

/** How local worker processes are started, beyond their WorkerConfig. */
export interface WorkerProcessOptions {
  /** Node flags, after zerolb's own. */
  execArgv: readonly string[];
  /** Environment variables set on top of the caller's. */
  env: Readonly<Record<string, string>> | undefined;
}

export class Supervisor {
  readonly #events: SupervisorEvents;
  #broker: ChildProcess | undefined;
  readonly #slots: WorkerSlot[] = [];
  /** Slots whose first start waits until the broker is up (see startWorkers). */
  #held: WorkerSlot[] = [];
  #workerConfig: WorkerConfig | undefined;
  #workerFlags: string[] = [];
  #workerEnv: NodeJS.ProcessEnv | undefined;
  /**
   * Its lifecycle: no worker has been ready yet ("starting": a start-up failure fails the pool at
   * once); one has ("running": a slot is given up only after repeated failures); stop() began
   * ("stopping": children that end are not restarted, a broker that ends is not reported).
   */
  #state: "starting" | "running" | "stopping" = "starting";
  /** How the last local children ended, by pid (for WorkerExitErrors). */
  readonly #exits = new BoundedMap<number, ChildExit>(1024);
  readonly #exitWaiters = new Map<number, ((exit: ChildExit | undefined) => void)[]>();
  /** Pids of local workers whose exit is not yet recorded (alive, or their stderr not yet read to its end). */
  readonly #unrecorded = new Set<number>();
  restarts = 0;
  /** Local workers replaced after they reached maxTasksPerWorker or maxWorkerMemory. */
  recycled = 0;

  constructor(events: SupervisorEvents) {
    this.#events = events;
  }

  /** Pids of the live children, for tests and stats. */
  get pids(): { broker: number | undefined; workers: number[] } {
    return {
      broker: this.#broker?.pid,
      workers: this.#slots.flatMap((s) => (s.child?.pid !== undefined && isAlive(s.child) ? [s.child.pid] : [])),
    };
  }

  /**
   * How a local worker ended (code, signal, stderr tail), by pid: at once if it has exited, else
   * when it does (the broker may notice a dead worker before Node reports its exit), or undefined
   * after `waitMs` (a remote worker, or one still running).
   */
  exitOf(pid: number, waitMs = 1000): Promise<ChildExit | undefined> {
    const known = this.#exits.get(pid);
    if (known !== undefined || !this.#unrecorded.has(pid)) return Promise.resolve(known);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), waitMs);
      const waiters = this.#exitWaiters.get(pid) ?? [];
      waiters.push((d) => (clearTimeout(timer), resolve(d)));
      this.#exitWaiters.set(pid, waiters);
    });
  }

  /** When the current broker reported ready (0 while it starts). */
  brokerReadyAt = 0;

  /** Kills the broker with this pid if it is still the current one (it stopped answering); its exit restarts it. */
  killBroker(pid: number | undefined): void {
    if (this.#broker && this.#broker.pid === pid && isAlive(this.#broker)) this.#broker.kill("SIGKILL");
  }

  /** Starts the broker; resolves once it has bound its sockets, to its remote endpoint (port resolved) if it has one. */
  startBroker(config: BrokerConfig): Promise<string | undefined> {
    if (this.#state === "stopping") return Promise.reject(new StartupError("the LoadBalancer is stopping its processes"));
    const child = this.#fork(BROKER_ENTRY, config);
    this.#broker = child;
    this.brokerReadyAt = 0;
    return new Promise<string | undefined>((resolve, reject) => {
      let started = false;
      child.on("message", (m: ChildMessage) => {
        if (m.type === "ready") {
          started = true;
          this.brokerReadyAt = Date.now();
          this.#startHeld();
          resolve(m.endpoint); // the broker's remote endpoint, port resolved (undefined without one)
        } else if (m.type === "fatal") reject(new StartupError(`the broker could not start: ${m.error.message}`, { cause: deserializeError(m.error) }));
      });
      child.once("exit", (code, signal) => {
        const description = exitDescription(code, signal);
        if (!started) reject(new StartupError(`the broker exited during start-up (${description})`));
        else if (this.#state !== "stopping") this.#events.brokerExited(description);
      });
    });
  }

  /** Throws a StartupError when the handler is TypeScript and tsx cannot be found. */
  startWorkers(count: number, config: WorkerConfig, process: WorkerProcessOptions = { execArgv: [], env: undefined }): void {
    this.#workerConfig = config;
    this.#workerFlags = [...loaderFlags(config.module), ...process.execArgv];
    this.#workerEnv = process.env ? { ...globalThis.process.env, ...process.env } : undefined;
    // Start-up is CPU (Node's boot, then the child's code), and the first result waits for the
    // broker and one worker. With fewer cores than processes to start, those beyond the cores would
    // only slow them down: they start once the broker has bound its sockets, or a worker is ready,
    // or one has ended (measured on 2 cores: first result 311 ms with one worker, 397 with two).
    const atOnce = Math.max(1, availableParallelism() - 1);
    for (let i = 0; i < count; i++) {
      const slot: WorkerSlot = { child: undefined, startedAt: 0, quickDeaths: 0, startFailures: 0, killedStarts: 0, timer: undefined, recycling: false };
      this.#slots.push(slot);
      if (i < atOnce) this.#spawnWorker(slot);
      else this.#held.push(slot);
    }
  }

  #startHeld(): void {
    const held = this.#held;
    this.#held = [];
    for (const slot of held) this.#spawnWorker(slot);
  }

  #spawnWorker(slot: WorkerSlot): void {
    slot.timer = undefined;
    if (this.#state === "stopping") return;
    const child = this.#fork(WORKER_ENTRY, this.#workerConfig!, this.#workerFlags, this.#workerEnv, true);
    slot.child = child;
    slot.recycling = false;
    // Everything the worker writes to stderr goes on to ours; the last 4 KiB are kept for its
    // WorkerExitError. The exit is recorded once stderr is read to its end ("close"), so the tail
    // holds the last words of a crash.
    const tail = new StderrTail();
    if (child.pid !== undefined) this.#unrecorded.add(child.pid);
    child.stderr?.on("data", (chunk: Buffer) => {
      tail.push(chunk);
      process.stderr.write(chunk);
    });
    // Should stderr stay open after the exit (a grandchild holding it), the exit is recorded anyway
    // with the tail read so far, STDERR_AFTER_EXIT_MS later.
    let recorded = false;
    let late: NodeJS.Timeout | undefined;
    const record = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(late);
      if (recorded) return;
      recorded = true;
      const exit: ChildExit = { pid: child.pid ?? 0, code, signal, description: exitDescription(code, signal), stderr: tail.text() };
      this.#recordExit(exit);
      this.#events.workerExited?.(exit);
    };
    child.once("exit", (code, signal) => {
      late = setTimeout(() => record(code, signal), STDERR_AFTER_EXIT_MS);
      late.unref();
    });
    child.once("close", record);
    slot.startedAt = Date.now();
    let ready = false;
    let fatal: Error | undefined;
    child.on("message", (m: ChildMessage) => {
      if (m.type === "ready") {
        ready = true;
        slot.startFailures = 0;
        slot.killedStarts = 0;
        if (this.#state === "starting") this.#state = "running";
        this.#startHeld();
        this.#events.workerReady();
      } else if (m.type === "fatal") fatal = deserializeError(m.error);
      else if (m.type === "recycling") {
        slot.recycling = true;
        log("worker %d is being replaced: %s", child.pid, m.reason);
      }
    });
    child.once("exit", (code, signal) => {
      const description = exitDescription(code, signal);
      if (this.#state === "stopping") return;
      this.#startHeld();
      log("worker %d exited (%s)", child.pid, description);
      if (slot.recycling && code === 0) {
        // It left on purpose, having finished what it ran: replaced at once, no backoff, no crash counted.
        this.recycled++;
        return this.#spawnWorker(slot);
      }
      const outside = killedFromOutside(signal) && !fatal;
      if (!ready && !this.#startFailed(slot, outside, description, fatal)) return;
      this.restarts++;
      const next = restartDelay(outside, Date.now() - slot.startedAt, slot.quickDeaths);
      slot.quickDeaths = next.quickDeaths;
      slot.timer = setTimeout(() => this.#spawnWorker(slot), next.delay);
    });
  }

  /**
   * A worker ended before it was ready. Returns whether to restart it. Its own failure (the module
   * did not load, setup() threw, the process exited or crashed) counts towards the crash-loop rule:
   * before any worker has been ready the pool fails at once; later a slot is given up after
   * MAX_START_FAILURES in a row, and the pool fails when every slot is given up. A start-up cut
   * short from outside (SIGKILL, SIGTERM) is no fault of the handler's: it is restarted, unless it
   * happens MAX_KILLED_STARTS times in a row on every slot.
   */
  #startFailed(slot: WorkerSlot, outside: boolean, description: string, fatal: Error | undefined): boolean {
    if (outside) {
      slot.killedStarts++;
      if (this.#slots.every((s) => s.killedStarts >= MAX_KILLED_STARTS)) {
        this.#events.fatal(new StartupError(`every worker was killed during start-up ${MAX_KILLED_STARTS} times in a row (last: ${description}); is something (the out-of-memory killer?) ending them while setup() runs?`));
        return false;
      }
      return true;
    }
    slot.startFailures++;
    slot.killedStarts = 0;
    const cause = fatal ?? new Error(`a worker exited during start-up (${description})`);
    const everReady = this.#state === "running";
    if (everReady && slot.startFailures < MAX_START_FAILURES) return true;
    if (!everReady || this.#slots.every((s) => s.startFailures >= MAX_START_FAILURES)) {
      this.#events.fatal(fatal ? new StartupError(cause.message, { cause }) : new StartupError(cause.message));
      return false;
    }
    slot.child = undefined; // this slot is given up; the others go on
    return false;
  }

  /**
   * Stops every child: SIGTERM, then SIGKILL for those still alive after `graceMs` (the broker:
   * `brokerGraceMs`), and waits for all of them to exit.
   */
  async stop(graceMs: number, brokerGraceMs = graceMs): Promise<void> {
    this.#state = "stopping";
    for (const slot of this.#slots) if (slot.timer) clearTimeout(slot.timer);
    // Workers first: while they finish, the broker still forwards their results and any cancels.
    const workers = this.#slots.map((s) => s.child).filter((c): c is ChildProcess => c !== undefined);
    await Promise.all(workers.map((child) => stopChild(child, graceMs)));
    if (this.#broker) await stopChild(this.#broker, brokerGraceMs);
  }

  #recordExit(exit: ChildExit): void {
    if (exit.pid === 0) return;
    this.#unrecorded.delete(exit.pid);
    this.#exits.set(exit.pid, exit);
    for (const wake of this.#exitWaiters.get(exit.pid) ?? []) wake(exit);
    this.#exitWaiters.delete(exit.pid);
  }

  #fork(entry: string, config: unknown, flags: string[] = [], env?: NodeJS.ProcessEnv, pipeStderr = false): ChildProcess {
    const child = fork(entry, [], {
      stdio: ["ignore", "inherit", pipeStderr ? "pipe" : "inherit", "ipc"],
      serialization: "advanced",
      execArgv: [...flags, ...childExecArgv()],
      ...(env ? { env } : {}),
    });
    child.on("error", (err) => log("child process error: %O", err));
    child.send({ type: "start", config });
    return child;
  }
}

/** Node flags for children: none of the caller's (a test runner's loaders), plus ZEROLB_CHILD_FLAGS. */
function childExecArgv(): string[] {
  const extra = process.env.ZEROLB_CHILD_FLAGS;
  return extra ? extra.split(/\s+/).filter(Boolean) : [];
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (!isAlive(child)) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => isAlive(child) && child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export function exitDescription(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

/**
 * The file to fork for a child: its bundle (scripts/bundle.mjs: one module to compile
 * instead of some forty to resolve, read and link; start-up is mostly CPU) when the build made one,
 * else its entry module (running from lib/ under tsx).
 */
function childEntry(role: "broker" | "worker"): string {
  const bundle = fileURLToPath(new URL(`../${role}/main.bundle.js`, import.meta.url));
  return existsSync(bundle) ? bundle : fileURLToPath(new URL(`../${role}/main.js`, import.meta.url));
}
