// `zerolb keygen [--out PATH]`: a new CurveZMQ key pair, as the JSON that `--key-file` reads.
import { closeSync, fchmodSync, openSync, writeSync } from "node:fs";
import { curveKeyPair } from "zeromq";
import { EXIT, UsageError, type CommandModule } from "./common.js";

export interface KeygenOptions {
  out?: string;
  force?: boolean;
}

export const registerKeygen: CommandModule = (program, run) => {
  program
    .command("keygen")
    .summary("create a Curve key pair for encrypted remote workers")
    .description(
      'Creates a new CurveZMQ key pair and prints it as JSON: { "publicKey": "<Z85>", "secretKey": "<Z85>" } ' +
        "(40 characters each), the format that --key-file reads. With --out it is written to a file readable by its owner only (mode 0600) and only the public key is printed, so it can be handed to the other side.",
    )
    .option("-o, --out <path>", "write the key pair to this file (mode 0600) instead of stdout, e.g. --out worker.key.json")
    .option("-f, --force", "replace the --out file if it exists, e.g. --force --out worker.key.json")
    .addHelpText(
      "after",
      `
Examples:
  $ zerolb keygen                              # prints {"publicKey": "...", "secretKey": "..."}
  $ zerolb keygen --out server.key.json        # writes the pair, prints the public key
  $ PUB=$(zerolb keygen --out worker.key.json)
`,
    )
    .action((options: KeygenOptions) => run(() => keygen(options)));
};

export async function keygen(options: KeygenOptions): Promise<number> {
  const pair = curveKeyPair();
  const text = `${JSON.stringify({ publicKey: pair.publicKey, secretKey: pair.secretKey }, null, 2)}\n`;
  if (options.out === undefined) {
    process.stdout.write(text);
    return EXIT.ok;
  }
  let fd: number;
  try {
    fd = openSync(options.out, options.force ? "w" : "wx", 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new UsageError(`${options.out} exists; use --force to replace it`);
    throw new UsageError(`cannot write ${options.out}: ${code ?? (err as Error).message}`);
  }
  try {
    fchmodSync(fd, 0o600); // an existing file (--force) keeps its mode otherwise
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  process.stdout.write(`${pair.publicKey}\n`);
  return EXIT.ok;
}
