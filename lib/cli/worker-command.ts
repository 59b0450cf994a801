// `zerolb worker <module> --connect <endpoint>`: a worker process on any machine that reaches a
// LoadBalancer's `endpoint`. It joins (and rejoins, with backoff, whenever the broker goes away and
// comes back), runs tasks with the handler module, and leaves cleanly on SIGTERM/SIGINT: running
// tasks finish and their results are sent, tasks not started go back to the broker (Bye).
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { Option } from "commander";
import { curveKeyPair } from "zeromq";
import { moduleUrl } from "../shared/module-url.js";
import { MAX_HEARTBEAT_TIMEOUT_MS } from "../caller/options.js";
import { parseEndpoint, type CurveClientKeys } from "../wire/transport.js";
import { WorkerRuntime } from "../worker/runtime.js";
import { registerTypeScript } from "../caller/typescript-loader.js";
import { EXIT, integer, MAX_MS, UsageError, type CommandModule } from "./common.js";
import { readKeyPair, readPublicKey } from "./key-files.js";

export interface WorkerCommandOptions {
  connect: string;
  concurrency: number;
  serverKey?: string;
  keyFile?: string;
  heartbeatInterval: number;
  heartbeatLiveness: number;
  reconnectMaxInterval: number;
  name?: string;
  quiet?: boolean;
  exitOnClose?: boolean;
}

const HELP_AFTER = `
Joining:
  The LoadBalancer must have an endpoint, e.g. new LoadBalancer({ worker, endpoint: "tcp://0.0.0.0:5555",
  curve: { publicKey, secretKey, allow: [<worker public keys>] } }). This worker gets workerData from
  it, runs setup() once, then takes tasks like a local worker. It may start before the broker and
  rejoins by itself when the broker restarts (reconnecting with backoff up to
  --reconnect-max-interval). Joins, losses and refusals are logged on stderr.

Curve (encryption and authentication):
  --server-key is the broker's public key (curve.publicKey), as 40 Z85 characters or a JSON key
  file holding "publicKey". --key-file is this worker's own pair, as written by
  \`zerolb keygen --out worker.key.json\` (mode 0600); its public key is what the broker lists in
  curve.allow. Without --key-file a fresh pair is made for this run (fine when the broker has no
  allow-list). Keys are never printed, except public ones.

When the LoadBalancer closes:
  Its broker says goodbye: this worker drops what it holds (nothing, after a clean close), says so
  on stderr and waits for the next broker at the same endpoint, joining it when it comes (a worker
  that serves run after run). With --exit-on-close it exits 0 instead (a one-shot worker, e.g. a
  batch job's container). A broker that crashes says nothing: the worker reconnects either way.

If setup() throws:
  The broker is told (it counts it in stats().failedSetups) and this worker exits 1 with the reason.

Stopping:
  SIGTERM or SIGINT (Ctrl-C): running tasks finish and their results are sent; tasks not started
  yet go back to the broker at once, to run elsewhere; teardown() runs; exit code 0. A second
  signal exits at once (the broker then runs what this worker held elsewhere).

Examples:
  $ zerolb worker ./handler.js --connect tcp://10.0.0.5:5555 --server-key server.pub.json --key-file worker.key.json
  $ zerolb worker ./handler.js --connect tcp://127.0.0.1:5555 --concurrency 8
  $ DEBUG=zerolb:worker* zerolb worker ./handler.js --connect tcp://127.0.0.1:5555
`;

export const registerWorker: CommandModule = (program, run) => {
  program
    .command("worker")
    .summary("join a running LoadBalancer's endpoint as a remote worker")
    .description(
      "Runs the handler module as a worker of the LoadBalancer listening at --connect (its `endpoint` option), from this or any other machine. Leaves cleanly on SIGTERM/SIGINT.",
    )
    .argument("<module>", "handler module: a path (relative to the current directory) or a file: URL, e.g. ./handler.js")
    .requiredOption("--connect <endpoint>", "the LoadBalancer's endpoint (lb.endpoint), e.g. --connect tcp://10.0.0.5:5555")
    .option("-c, --concurrency <n>", "tasks this worker runs at once, for async handlers, e.g. --concurrency 8", integer(1, "--concurrency"), 1)
    .option("--server-key <key>", "the broker's Curve public key (40 Z85 characters) or a JSON file holding it as publicKey, e.g. --server-key server.pub.json")
    .option("--key-file <path>", "this worker's Curve key pair, a JSON file from `zerolb keygen --out`, e.g. --key-file worker.key.json")
    .option("--heartbeat-interval <ms>", "ZMTP heartbeat interval to the broker, e.g. --heartbeat-interval 1000", integer(10, "--heartbeat-interval"), 1000)
    .option("--heartbeat-liveness <n>", "heartbeats missed before the broker counts as gone, e.g. --heartbeat-liveness 3", integer(1, "--heartbeat-liveness"), 3)
    .option("--reconnect-max-interval <ms>", "longest wait between reconnect attempts (backoff from 100 ms), e.g. --reconnect-max-interval 5000", integer(100, "--reconnect-max-interval", MAX_MS), 5000)
    .option("--name <name>", `name shown in the broker's stats (default: this host's name, ${hostname()}), e.g. --name gpu-box-1`)
    .option("--exit-on-close", "exit 0 when the LoadBalancer closes (its broker says goodbye), instead of waiting for the next one, e.g. --exit-on-close")
    .addOption(new Option("-q, --quiet", "log nothing but errors on stderr, e.g. --quiet"))
    .addHelpText("after", HELP_AFTER)
    .action((module: string, options: WorkerCommandOptions) => run(() => workerCommand(module, options)));
};

/** The Curve keys to use, or undefined for plain text. */
export function curveKeys(o: Pick<WorkerCommandOptions, "serverKey" | "keyFile">, warn: (line: string) => void): CurveClientKeys | undefined {
  if (o.serverKey === undefined) {
    if (o.keyFile !== undefined) throw new UsageError("--key-file needs --server-key (the broker's public key)");
    return undefined;
  }
  const serverKey = readPublicKey(o.serverKey, "--server-key", "the broker's curve.publicKey");
  if (o.keyFile === undefined) {
    const pair = curveKeyPair();
    warn(`no --key-file: using a fresh Curve key pair for this run (public key ${pair.publicKey}); a broker with an allow-list will refuse it`);
    return { serverKey, publicKey: pair.publicKey, secretKey: pair.secretKey };
  }
  return { serverKey, ...readKeyPair(o.keyFile, "--key-file", warn) };
}

export async function workerCommand(module: string, o: WorkerCommandOptions): Promise<number> {
  const say = (line: string) => void process.stderr.write(`zerolb worker: ${line}\n`);
  const info = o.quiet ? () => {} : say;
  if (!module.startsWith("file:") && !existsSync(resolve(module))) throw new UsageError(`cannot find the handler module ${module}`);
  const endpoint = parseEndpoint(o.connect);
  if (!endpoint) throw new UsageError(`--connect must be tcp://host:port or ipc://path; received ${JSON.stringify(o.connect)}`);
  if (endpoint.transport === "tcp" && endpoint.port === 0) throw new UsageError("--connect needs the broker's port (lb.endpoint), not 0 or *");
  const curve = curveKeys(o, say);
  if (!curve && !endpoint.loopback) say(`warning: connecting to ${o.connect} in plain text: tasks and results travel unencrypted (use --server-key)`);

  const heartbeatTimeout = o.heartbeatInterval * o.heartbeatLiveness;
  if (heartbeatTimeout > MAX_HEARTBEAT_TIMEOUT_MS) {
    throw new UsageError(`--heartbeat-interval × --heartbeat-liveness must be at most ${MAX_HEARTBEAT_TIMEOUT_MS} ms (ZeroMQ keeps the heartbeat time-to-live in tenths of a second in 16 bits)`);
  }
  // A TypeScript module loads in this process: tsx's loader first, as local workers get it.
  await registerTypeScript(moduleUrl(module));
  let handshakeTrouble = "";
  const runtime = new WorkerRuntime(
    {
      connect: o.connect, module: moduleUrl(module), concurrency: o.concurrency,
      heartbeatInterval: o.heartbeatInterval, heartbeatTimeout, curve, reconnectMaxInterval: o.reconnectMaxInterval,
      name: o.name ?? hostname(),
    },
    {
      onJoin: ({ rejoin, session }) => {
        handshakeTrouble = "";
        info(`${rejoin ? "rejoined" : "joined"} ${o.connect} (broker session ${session}, pid ${process.pid}, concurrency ${o.concurrency})`);
      },
      onDisconnect: () => info(`lost the broker at ${o.connect}; reconnecting (what this worker held runs elsewhere)`),
      onHandshakeError: (kind, detail) => {
        if (handshakeTrouble === kind) return; // once per kind until the next join
        handshakeTrouble = kind;
        const hint = kind === "auth"
          ? "this worker's public key is not in the broker's curve.allow"
          : curve ? "wrong --server-key, or the broker does not use Curve" : "the broker uses Curve: pass --server-key";
        say(`the broker refused the handshake (${kind}${detail ? `: ${detail}` : ""}): ${hint}; retrying`);
      },
      onStopping: ({ running, handedBack }) => info(`stopping: ${running} running task(s) finish, ${handedBack} go back to the broker`),
      onBrokerClosed: ({ dropped }) => {
        const held = dropped > 0 ? `; dropped ${dropped} task(s) it held` : "";
        if (o.exitOnClose) {
          info(`the LoadBalancer at ${o.connect} closed${held}; exiting (--exit-on-close)`);
          closedByBroker = true;
          void runtime.stop().then(resolveStopped, resolveStopped);
        } else info(`the LoadBalancer at ${o.connect} closed${held}; waiting for the next one at the same endpoint`);
      },
      onSetupFailed: () => info(`setup() failed: telling the broker, then exiting`),
    },
  );

  let signalled: NodeJS.Signals | undefined;
  let closedByBroker = false;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        say(`${signal} again: exiting now`);
        process.exit(signal === "SIGINT" ? EXIT.sigint : EXIT.sigterm);
      }
      signalled = signal;
      void runtime.stop().then(resolveStopped, resolveStopped);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });

  info(`connecting to ${o.connect}${curve ? " (CurveZMQ)" : ""}`);
  const started = runtime.start();
  started.catch(() => {});
  await Promise.race([started, stopped]); // a start-up failure (module, setup()) throws here: exit 1
  await stopped;
  info(`left ${o.connect} (${closedByBroker && !signalled ? "the LoadBalancer closed" : signalled})`);
  return EXIT.ok;
}
