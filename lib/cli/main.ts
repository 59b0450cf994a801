// The zerolb command line. Each command is one module under cli/ that registers itself on the
// program; add a command by adding its module to COMMANDS below. Started by ../cli.ts (the `zerolb`
// bin), from its one-file bundle when the build made one.
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { describeError, EXIT, UsageError, type CommandModule } from "./common.js";
import { registerDot } from "./dot-command.js";
import { registerKeygen } from "./keygen-command.js";
import { registerMap } from "./map-command.js";
import { registerWorker } from "./worker-command.js";
import { logger } from "../shared/debug.js";

const log = logger("cli");

/** The commands, in the order `zerolb --help` lists them. */
const COMMANDS: CommandModule[] = [
  registerMap,
  registerWorker,
  registerDot,
  registerKeygen,
];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** Runs an action and turns its outcome into the exit code. */
async function run(action: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await action();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`zerolb: ${err.message}\n(run with --help for usage)\n`);
      process.exitCode = EXIT.usage;
    } else {
      log("failed: %O", err);
      process.stderr.write(`zerolb: ${describeError(err)}\n`);
      process.exitCode = EXIT.failed;
    }
  }
}

export function buildProgram(): Command {
  const program = new Command("zerolb")
    .description("zerolb: a streaming load balancer over worker processes, on ZeroMQ.")
    .version(version(), "-V, --version", "print the version of zerolb, e.g. zerolb --version")
    .helpOption("-h, --help", "show help, e.g. zerolb map --help")
    .helpCommand("help [command]", "show help for a command, e.g. zerolb help map")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .addHelpText(
      "after",
      `
Examples:
  $ zerolb map ./handler.js data.jsonl > results.jsonl
  $ zerolb keygen --out server.key.json
  $ zerolb map --help

Logs: DEBUG=zerolb:* on stderr (or one role: DEBUG=zerolb:cli*, zerolb:caller*, zerolb:broker*, zerolb:worker*).`,
    );
  for (const register of COMMANDS) register(program, run);
  return program;
}

async function flush(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.writableLength === 0) return;
  await new Promise<void>((resolve) => stream.write("", () => resolve()));
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // --help and --version end with 0; every other commander error is a usage error.
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  // Ends the process even if something (stdin) still holds the event loop.
  process.exit();
}

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`zerolb: ${describeError(err)}\n`);
  process.exit(EXIT.failed);
});
