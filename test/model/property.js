// Runs the model test: random command sequences (fast-check `commands`), each against a fresh
// LoadBalancer, closed and verified at the end. Shared by test/model.test.js (a few runs in
// `npm test`) and test/model-run.js (long runs). A failure comes back with its seed, path and the
// shrunk command sequence, replayable with ZEROLB_MODEL_SEED, ZEROLB_MODEL_PATH and
// ZEROLB_MODEL_REPLAY_PATH (or the runner's --seed, --path and --replay-path).
import fc from "fast-check";
import { commandArbitraries } from "./arbitraries.js";
import { closeAndVerify } from "./close.js";
import { CUSTOM_IDS, Model } from "./model.js";
import { Real, settle } from "./real.js";

/** Commands per run, at most (and a few are often skipped: no open map, nothing to receive). */
export const MAX_COMMANDS = 15;

/**
 * @param {object} o
 * @param {number} o.runs       how many generated sequences to run
 * @param {number} [o.seed]     fast-check seed (random when absent)
 * @param {string} [o.path]     replay this path of `seed` (one run, no shrinking)
 * @param {string} [o.replayPath] which commands ran in the run to replay (printed with a failure)
 * @param {"all" | "letters"} [o.ids] caller-chosen ids: with digits (default) or letters only
 * @param {number} [o.maxCommands] longest sequence (a replay needs the failure's value)
 * @param {number} o.shrinkMs   time allowed for shrinking after the first failure
 * @param {(line: string) => void} [o.log]
 * @returns {Promise<{ failed: boolean, runs: number, seed: number, path?: string, commands?: string, error?: string, shrinks?: number }>}
 */
export async function checkModel({ runs, seed, path, replayPath, ids = "all", maxCommands = MAX_COMMANDS, shrinkMs, log = () => {} }) {
  let executions = 0;
  let firstFailureAt;
  const property = fc.asyncProperty(
    fc.commands(commandArbitraries, { maxCommands, size: "max", replayPath }),
    fc.record({ force: fc.boolean(), quiet: fc.boolean() }),
    async (commands, close) => {
      // Shrinking runs real processes; past its budget, candidates count as passing so it stops.
      if (firstFailureAt !== undefined && Date.now() - firstFailureAt > shrinkMs) return true;
      // A replay runs the value at `path` once (fast-check would go on with its shrink siblings).
      if (path !== undefined && executions > 0) return true;
      const n = ++executions;
      const started = Date.now();
      const real = new Real();
      const model = new Model(CUSTOM_IDS[ids]);
      try {
        const ready = await settle(real.lb.ready, "lb.ready");
        if ("error" in ready) throw new Error(`lb.ready rejected: ${ready.error?.message}`);
        await fc.asyncModelRun(() => ({ model, real }), commands);
        await closeAndVerify(model, real, close);
        log(`run ${n}: ${model.steps.length} steps, ${model.sends.length} sends, ${model.maps.length} maps, ${model.kills.length} kills, ${Date.now() - started} ms`);
      } catch (err) {
        firstFailureAt ??= Date.now();
        log(`run ${n}: FAILED after ${model.steps.length} steps (${Date.now() - started} ms): ${String(err.message).split("\n")[0]}`);
        if (process.env.ZEROLB_MODEL_DEBUG) log(debugDump(model, real));
        throw err;
      } finally {
        await real.dispose();
      }
    },
  );
  const params = path === undefined ? { numRuns: runs } : { path, numRuns: 1, endOnFailure: true };
  if (seed !== undefined) params.seed = seed;
  const details = await fc.check(property, params);
  // (A replay counts as one run, whatever fast-check skipped after it.)
  if (!details.failed) return { failed: false, runs: path === undefined ? details.numRuns : 1, seed: details.seed };
  const commands = details.counterexample ? fc.stringify(details.counterexample) : undefined;
  return {
    failed: true,
    runs: details.numRuns,
    seed: details.seed,
    path: details.counterexamplePath ?? undefined,
    replayPath: /\/\*replayPath="([^"]*)"\*\//.exec(commands ?? "")?.[1],
    ids,
    maxCommands,
    commands,
    error: details.errorInstance?.message ?? String(details.error),
    shrinks: details.numShrinks,
  };
}

/** A failure as a block of text: what broke, the shrunk sequence and how to replay it. */
export function describeFailure(f) {
  return [
    `model test failed (seed ${f.seed}, path "${f.path}", ${f.shrinks} shrinks):`,
    f.error,
    `commands (shrunk), then close: ${f.commands}`,
    `replay: ${replayEnv(f)} npx tap test/model.test.js`,
    `   or: npm run test:model -- --seed=${f.seed} --path ${f.path} --replay-path '${f.replayPath ?? ""}'${f.ids === "all" ? "" : ` --ids ${f.ids}`}${f.maxCommands === MAX_COMMANDS ? "" : ` --max-commands ${f.maxCommands}`}`,
  ].join("\n");
}

/** The environment that makes test/model.test.js replay failure `f`. */
function replayEnv(f) {
  const vars = [`ZEROLB_MODEL_SEED=${f.seed}`, `ZEROLB_MODEL_PATH=${f.path}`, `ZEROLB_MODEL_REPLAY_PATH='${f.replayPath ?? ""}'`];
  if (f.ids !== "all") vars.push(`ZEROLB_MODEL_IDS=${f.ids}`);
  if (f.maxCommands !== MAX_COMMANDS) vars.push(`ZEROLB_MODEL_MAX_COMMANDS=${f.maxCommands}`);
  return vars.join(" ");
}

/** ZEROLB_MODEL_DEBUG=1: what the model and the log held when a run failed, for triage. */
function debugDump(model, real) {
  const sends = model.sends.map((s) => `  send #${s.n} step ${s.step} ${s.key} ${JSON.stringify(s.spec)} id=${s.id ?? s.requestedId ?? "-"} state=${s.state}${s.aborted ? " aborted" : ""} deps=[${s.deps.map((d) => d.id)}] result=${s.result ? (s.result.ok ? "ok" : s.result.code) : "-"}`);
  const maps = model.maps.map((m) => `  map #${m.n} step ${m.step} keys=${m.keys.join(",")} ${m.ordered ? "ordered" : "unordered"} state=${m.state} yielded=[${[...m.yielded]}]`);
  const steps = model.steps.map((s, i) => `  step ${i} @${s.offset}: ${s.name}`);
  const log = real.log.entries().map((e) => `  @${e.offset} ${e.type} ${e.pid} ${e.key} ${e.how ?? ""} ${e.signal ?? ""}`);
  return ["steps:", ...steps, "sends:", ...sends, "maps:", ...maps, `outstanding (model): ${model.outstanding}`, "log:", ...log].join("\n");
}
