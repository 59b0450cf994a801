// The model-based test of the public API (issue 18). fast-check generates random sequences of
// commands (`fc.commands`); `fc.asyncModelRun` runs each against a real LoadBalancer (a broker and
// two workers, real processes and sockets; test/fixtures/model-handler.js logs every task's START,
// signal abort and END with its pid) and a small model of what was sent and mapped
// (test/model/model.js); a run always ends with close(), by force or not.
//
// Commands (test/model/*-commands.js): send() (generated or caller-chosen ids, ids already used,
// digits that look like generated ids, `after` naming earlier tasks, a signal); receive(); map()
// (ordered or not, settled or not, partly or fully consumed, left open, `break`); next() on an open
// map, two concurrent next() calls; abort of a map or of a send (also while send() waits for
// room: highWaterMark is 3); SIGKILL of a worker (at most 4, below maxAttempts 5) or of the broker
// (at most 2, within the restart budget; then going on at once, once a new broker process exists,
// or once it serves); a wait until no task runs.
//
// What must hold (a breach fails the run, naming the step):
// - every task's result arrives exactly once, as the value the handler returns, or as a TaskError
//   subclass with a code, and only the one its situation allows (TASK_FAILED when the handler
//   throws, CANCELLED after its abort or a forced close, DEPENDENCY_FAILED when a task it runs
//   after did not succeed); no result is doubled or lost (receive() is drained after close());
// - ids: a generated id never equals a caller-chosen one; a known id (at most idMemory = 2
//   distinct caller-chosen ids, or one still outstanding) is not run again and yields no second
//   result; every id send() returned can be named in `after`;
// - a task runs after those it names in `after` have ended, and only if they succeeded; a task
//   runs again only after a worker or the broker was killed;
// - cancellation: no task starts with its ctx.signal already aborted (its cancellation had reached
//   the worker); a task not started when its map or send was cancelled does not start on a worker
//   after the cancellation has provably reached it: after another task of the same cancellation
//   saw its signal aborted there, or after a task sent by a later step started there (message
//   order). Cancellations from 3 steps before a broker kill to 5 s after it are not judged so
//   (a restart re-sends tasks and resets workers, which breaks that order);
// - no step hangs: every call is bounded (15 s; close(): closeTimeout + 15 s) and a hang fails
//   naming the call; send() waiting for room resumes once receive() frees a slot;
// - after close(): no broker or worker pid alive, no ipc directory left.
//
// `npm test` makes 5 runs of at most 15 commands. A failure prints its seed, path and shrunk
// command sequence, and the line that replays it:
//   ZEROLB_MODEL_SEED=<seed> ZEROLB_MODEL_PATH=<path> ZEROLB_MODEL_REPLAY_PATH=<replayPath> npx tap test/model.test.js
// (fast-check needs the replay path too: it says which commands ran). Long runs, outside tap's
// timeout: npm run test:model -- --runs 200 (--ids letters leaves digit ids out, to look past
// the collisions of caller-chosen and generated ids). ZEROLB_MODEL_RUNS sets the runs here.
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
  if (result.failed) {
    for (const line of describeFailure(result).split("\n")) t.comment(line);
    t.fail(`the LoadBalancer broke the model's promises: ${result.error.split("\n")[0]}`);
  } else t.pass(`${result.runs} random runs kept the model's promises`);
});
