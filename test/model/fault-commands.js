// Faults and waiting, as commands of the model test: SIGKILL of a worker or of the broker, and a
// wait until no task runs.
import { alive, waitFor } from "../helpers.js";
import { consume } from "./map-commands.js";
import { LIMITS } from "./model.js";
import { BOUND_MS } from "./real.js";
import { failureOf, Step } from "./step.js";

export class KillWorker extends Step {
  constructor(index) {
    super();
    this.index = index;
  }

  toString() {
    return `SIGKILL worker ${this.index}`;
  }

  check(m) {
    return m.killsOf("worker") < LIMITS.workerKills;
  }

  async exec(m, r) {
    const pids = r.lb.pids.workers;
    if (pids.length === 0) return;
    m.addKill("worker", r.log.size());
    process.kill(pids[this.index % pids.length], "SIGKILL");
  }
}

/**
 * How long a broker kill waits: not at all, until a new broker process exists (its restart and the
 * re-sending of tasks may still be under way when the next step starts), or until it serves.
 */
export const BROKER_WAITS = ["no wait", "new process", "serving"];

export class KillBroker extends Step {
  constructor(wait) {
    super();
    this.wait = wait;
  }

  toString() {
    return `SIGKILL the broker (${BROKER_WAITS[this.wait]})`;
  }

  check(m) {
    return m.killsOf("broker") < LIMITS.brokerKills;
  }

  async exec(m, r) {
    const pid = r.lb.pids.broker;
    if (!pid || !alive(pid)) return;
    const before = r.lb.stats().brokerRestarts;
    m.addKill("broker", r.log.size());
    process.kill(pid, "SIGKILL");
    if (this.wait === 0) return;
    const restarted = () => r.lb.stats().brokerRestarts > before && r.lb.pids.broker !== pid && alive(r.lb.pids.broker);
    try {
      await waitFor(restarted, { timeout: BOUND_MS, interval: 1, what: "a new broker after a SIGKILL" });
    } catch (err) {
      return m.violate(`${err.message}${await failureOf(r)}`);
    }
    if (this.wait === 1) return;
    // The new broker serves: a one-item map goes through it (an ordinary map of the model).
    const keys = [m.newKey()];
    const specs = [{ ms: 0, honor: false, fail: false }];
    const rec = m.addMap({ keys, specs, ordered: true, settled: false, hasSignal: false });
    r.iterators.set(rec.n, r.lb.map(keys.map((k, i) => ({ k, ...specs[i] }))));
    await consume(m, r, rec, 2, "next() of a map after the broker restart");
  }
}

/**
 * Resolves once no task runs on a live worker (by the log: every START has its END). A task held
 * by a worker behind a running one, whose cancellation that worker ignored, starts then: the step
 * gives such tasks the chance to show up before close() stops the workers. Nothing more: the
 * model never depends on it.
 */
export async function quiesce(m, r) {
  const running = () => {
    const open = new Map();
    for (const e of r.log.entries()) {
      if (e.type === "S") open.set(`${e.pid} ${e.key}`, e.pid);
      else if (e.type === "E") open.delete(`${e.pid} ${e.key}`);
    }
    return [...open.values()].filter(alive).length;
  };
  await waitFor(() => running() === 0, { timeout: BOUND_MS, what: "every running task to end" }).catch((err) => m.violate(err.message));
}

export class Quiesce extends Step {
  toString() {
    return "wait until no task runs";
  }

  async exec(m, r) {
    await quiesce(m, r);
  }
}
