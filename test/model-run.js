// Long runs of the model test, outside tap's per-file timeout:
//   npm run test:model -- --runs 200 [--seed N] [--max-commands 15] [--ids letters] [--shrink-ms 120000]
//   npm run test:model -- --seed <seed> --path <path> --replay-path <p>   (replays one failure)
//   --ids letters: caller-chosen ids without digits (looks past the id collisions of generated ids)
// Every failure is printed with its seed, path and shrunk command sequence; the runs then go on
// with a new seed until --runs have been made. Exit code 1 if any run failed.
import { parseArgs } from "node:util";
import { checkModel, describeFailure } from "./model/property.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "50" },
    seed: { type: "string" },
    path: { type: "string" },
    "replay-path": { type: "string" },
    ids: { type: "string", default: "all" },
    "max-commands": { type: "string" },
    "shrink-ms": { type: "string", default: "120000" },
    quiet: { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
const maxCommands = values["max-commands"] === undefined ? undefined : Number(values["max-commands"]);
const shrinkMs = Number(values["shrink-ms"]);
const log = values.quiet ? () => {} : (line) => console.log(line);
const failures = [];
let done = 0;
let seed = values.seed === undefined ? undefined : Number(values.seed);
const started = Date.now();
while (done < runs) {
  const result = await checkModel({
    runs: runs - done, seed, path: values.path, replayPath: values["replay-path"] || undefined, ids: values.ids, maxCommands, shrinkMs, log,
  });
  done += Math.max(1, result.runs);
  if (!result.failed) {
    console.log(`seed ${result.seed}: ${result.runs} runs passed`);
    if (values.path !== undefined) break;
    continue;
  }
  failures.push(result);
  console.log(`\n${describeFailure(result)}\n`);
  if (values.path !== undefined) break;
  seed = undefined; // go on with a fresh seed
}
console.log(`${done} runs, ${failures.length} failed, ${Math.round((Date.now() - started) / 1000)} s`);
for (const f of failures) console.log(`  seed ${f.seed} path ${f.path}: ${f.error.split("\n")[0]}`);
process.exitCode = failures.length > 0 ? 1 : 0;
