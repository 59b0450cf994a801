// `zerolb keygen [--out PATH]`: a new CurveZMQ key pair, as the JSON that `--key-file` reads.
import { closeSync, fchmodSync, openSync, writeSync } from "node:fs";
import { curveKeyPair } from "zeromq";
import { EXIT, UsageError, type CommandModule } from "./common.js";

export interface KeygenOptions {
  out?: string;
  publicOut?: string;
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
    .option("--public-out <path>", "also write the public key alone, as JSON { \"publicKey\" } (mode 0644), a file the other side can have without the secret, e.g. --public-out worker.pub.json")
    .option("-f, --force", "replace the --out and --public-out files if they exist, e.g. --force --out worker.key.json")
    .addHelpText(
      "after",
      `
Examples:
  $ zerolb keygen                              # prints {"publicKey": "...", "secretKey": "..."}
  $ zerolb keygen --out server.key.json        # writes the pair, prints the public key
  $ zerolb keygen --out server.key.json --public-out server.pub.json   # the .pub.json goes to worker machines
  $ PUB=$(zerolb keygen --out worker.key.json)
  Keys contain characters a shell reads ($ & ! * ? < > ( ) { } [ ] #): quote them with single quotes,
  e.g. --allow 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7' (or pass the key file instead).
`,
    )
    .action((options: KeygenOptions) => run(() => keygen(options)));
};

export async function keygen(options: KeygenOptions): Promise<number> {
  if (options.publicOut !== undefined && options.publicOut === options.out) throw new UsageError("--public-out must be another file than --out: it is the file without the secret key");
  const pair = curveKeyPair();
  const text = `${JSON.stringify({ publicKey: pair.publicKey, secretKey: pair.secretKey }, null, 2)}\n`;
  // Both files are opened before either is written: a refused one leaves no half-made pair.
  const secretFd = options.out === undefined ? undefined : openKeyFile(options.out, 0o600, options.force);
  let publicFd: number | undefined;
  try {
    publicFd = options.publicOut === undefined ? undefined : openKeyFile(options.publicOut, 0o644, options.force);
  } catch (err) {
    if (secretFd !== undefined) closeSync(secretFd);
    throw err;
  }
  if (secretFd !== undefined) writeKeyFile(secretFd, 0o600, text); // an existing file (--force) keeps its mode otherwise
  if (publicFd !== undefined) writeKeyFile(publicFd, 0o644, `${JSON.stringify({ publicKey: pair.publicKey }, null, 2)}\n`);
  process.stdout.write(options.out === undefined ? text : `${pair.publicKey}\n`);
  return EXIT.ok;
}

function openKeyFile(path: string, mode: number, force: boolean | undefined): number {
  try {
    return openSync(path, force ? "w" : "wx", mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new UsageError(`${path} exists; use --force to replace it`);
    throw new UsageError(`cannot write ${path}: ${code ?? (err as Error).message}`);
  }
}

function writeKeyFile(fd: number, mode: number, text: string): void {
  try {
    fchmodSync(fd, mode);
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
