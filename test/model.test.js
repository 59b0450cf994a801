// The model-based test of the public API: random sequences of send (with and without ids, with
// `after`), receive, map (consumed partly or fully, break, abort, two concurrent next() calls),
// aborted sends, worker and broker SIGKILLs and close, each run against a real LoadBalancer (two
// workers, test/fixtures/model-handler.js) and checked against a small model. See test/README.md.
//
// A failure prints its seed and path; replay it with
//   ZEROLB_MODEL_SEED=<seed> ZEROLB_MODEL_PATH=<path> ZEROLB_MODEL_REPLAY_PATH=<replayPath> npx tap test/model.test.js
// (the failure prints the line to copy).
// Long runs: npm run test:model -- --runs 200
import t from "tap";
import { checkModel, describeFailure, MAX_COMMANDS } from "./model/property.js";

const env = process.env;
const seed = env.ZEROLB_MODEL_SEED === undefined ? undefined : Number(env.ZEROLB_MODEL_SEED);
const path = env.ZEROLB_MODEL_PATH || undefined;
const replayPath = env.ZEROLB_MODEL_REPLAY_PATH || undefined;
const ids = env.ZEROLB_MODEL_IDS === "letters" ? "letters" : "all";

t.test("LoadBalancer - random sends, receives, maps, cancellations, kills and close keep every promise of the model", async (t) => {
  const result = await checkModel({
    runs: Number(env.ZEROLB_MODEL_RUNS ?? 5),
    seed,
    path,
    replayPath,
    ids,
    maxCommands: Number(env.ZEROLB_MODEL_MAX_COMMANDS ?? MAX_COMMANDS),
    shrinkMs: 20_000,
    log: (line) => t.comment(line),
  });
  t.comment(`ZEROLB_MODEL_SEED=${result.seed}`);
  if (result.failed) t.fail(describeFailure(result));
  else t.pass(`${result.runs} random runs kept the model's promises`);
});
