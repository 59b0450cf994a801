// `zerolb map <module> [FILE…]`: JSON Lines in (files or stdin, streamed), one JSON line per
// result out, through a LoadBalancer.
import { createReadStream, type ReadStream } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { logger } from "../shared/debug.js";
import { countJsonLines, jsonLineTexts } from "../caller/jsonl.js";
import { JsonLinesError } from "../shared/errors.js";
import { LoadBalancer } from "../caller/load-balancer.js";
import { Option } from "commander";
import { describeError, EXIT, integer, json, MAX_MS, positiveNumber, UsageError, type CommandModule } from "./common.js";
import { checkArguments, lbOptions, mapControls, rateLimitArgument, type MapCommandOptions } from "./map-options.js";
import { errorInfo, failedRow, LineWriter, settledRow, toJson } from "./output.js";
import { Pacer } from "./pacer.js";
import { Progress } from "./progress.js";
import { MAP_HELP_AFTER } from "./map-help.js";
import { RunFiles } from "./run-files.js";
import { serveMetrics, type MetricsServer } from "./metrics-server.js";

const log = logger("cli");

/** Where an item came from. */
interface Location {
  /** 0-based position among the input records (non-blank lines of all inputs). */
  index: number;
  file: string;
  line: number;
  /** The item, kept for its --failed line (only with --failed). */
  input?: unknown;
}

/** Invalid lines waiting (ordered --settled) for the results of the lines before them. */
const MAX_WAITING_INVALID = 4096;

/**
 * The JsonLinesError of an input line that a worker could not parse (its task failed with one),
 * naming the line's file and number; undefined for any other failure.
 */
function notJson(error: unknown, where: Location): JsonLinesError | undefined {
  const cause = (error as { cause?: { name?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause?.name !== "JsonLinesError") return undefined;
  return new JsonLinesError(`${where.file}:${where.line}: ${String(cause.message)}`, { file: where.file, line: where.line, cause });
}

function isOptionError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === "ERR_ZEROLB_INVALID_OPTION" || (err instanceof Error && /not supported/i.test(err.message));
}

export const registerMap: CommandModule = (program, run) => {
  program
    .command("map")
    .summary("run every JSON line of the input through a handler module; print one JSON line per result")
    .description(
      "Reads JSON Lines from FILEs (or stdin, or '-'), streamed, and runs each value through the handler module's default export (or --fn) on a pool of worker processes. Writes one JSON line per result to stdout, in input order unless --unordered. Shows a progress line on stderr when stderr is a terminal (--progress forces it, --quiet silences it).",
    )
    .argument("<module>", "handler module: a path (relative to the current directory) or a file: URL, e.g. ./handler.js")
    .argument("[files...]", "JSON Lines files, read one after the other; none or '-' = stdin, e.g. data.jsonl more.jsonl")
    .option("--fn <name>", "exported handler function to call instead of the default export, e.g. --fn score")
    .option("-w, --workers <n>", `local worker processes (default: CPUs available = ${availableParallelism()}), e.g. --workers 4`, integer(0, "--workers"))
    .option("-c, --concurrency <n>", "tasks one worker runs at once, for async handlers (default: 1), e.g. --concurrency 8", integer(1, "--concurrency"))
    .option("--unordered", "write results as they finish instead of in input order, e.g. --unordered")
    .option("--settled", 'write a row {"index","ok","value"|"error"} per line and go on after failures; exit 0 unless the run fails, e.g. --settled')
    .option("--timeout <ms>", "fail a task that runs longer than this (TimeoutError), e.g. --timeout 30000", positiveNumber("--timeout", MAX_MS))
    .option("--endpoint <endpoint>", "also accept remote workers (zerolb worker) on this ZeroMQ endpoint, e.g. --endpoint tcp://127.0.0.1:5555")
    .option("--curve-key-file <path>", "with --endpoint: encrypt and authenticate remote workers with this Curve key pair (from `zerolb keygen --out`); workers pass its public key as --server-key, e.g. --curve-key-file broker.key.json")
    .option("--allow <pubkey...>", "with --curve-key-file: only workers with these public keys (40 Z85 characters, or their key files) may join, e.g. --allow worker1.key.json worker2.key.json")
    .option("--insecure", "with --endpoint: accept plain-text remote workers on a non-loopback address (anyone who reaches it can join and see tasks), e.g. --insecure")
    .option("--high-water-mark <n>", "most items read ahead of the results written (default: 1024), e.g. --high-water-mark 256", integer(1, "--high-water-mark", MAX_MS))
    .option("--worker-data <json>", "JSON value handed to setup(ctx) and handlers as ctx.workerData, e.g. --worker-data '{\"model\":\"small\"}'", json("--worker-data"))
    .option("--retries <n>", "run a task whose handler throws, rejects or times out up to N more times (default: 0), e.g. --retries 3", integer(0, "--retries", 1000))
    .option("--retry-delay <ms>", "with --retries: wait this long before the first retry, twice as long before each next, ±50 % jitter, at most 30 s (default: 100), e.g. --retry-delay 500", integer(0, "--retry-delay", MAX_MS))
    .option("--priority <n>", "priority of this run's tasks among others waiting for workers (higher first; default: 0), e.g. --priority 5", integer(-(2 ** 31 - 1), "--priority", 2 ** 31 - 1))
    .option("--rate-limit <n/ms>", "at most N task starts in any MS milliseconds, across all workers, e.g. --rate-limit 10/1000", rateLimitArgument)
    .option("--max-tasks-per-worker <n>", "replace a local worker process after it has run N tasks (for leaky handlers), e.g. --max-tasks-per-worker 1000", integer(1, "--max-tasks-per-worker"))
    .option("--max-worker-memory <mib>", "replace a local worker process whose RSS is above this many MiB, e.g. --max-worker-memory 512", integer(1, "--max-worker-memory"))
    .option("--batch-size <n>", "call the handler with an array of up to N inputs; it returns an array of N results (default: 1, one input per call), e.g. --batch-size 64", integer(1, "--batch-size", 65_536))
    .option("--batch-wait <ms>", "with --batch-size: how long a worker waits for a batch to fill (default: 2), e.g. --batch-wait 10", integer(0, "--batch-wait", MAX_MS))
    .option("--grace <ms>", "after Ctrl-C, how long running tasks get to finish before they are stopped, e.g. --grace 2000", integer(0, "--grace", MAX_MS), 10_000)
    .option("-o, --output <file>", "write the results to FILE instead of stdout, with a journal beside it (FILE.zerolb-journal) so that --resume can continue a stopped run, e.g. --output scores.jsonl")
    .option("--resume", "with --output: continue the run that wrote FILE (stopped by Ctrl-C, kill -9, a crash): what it finished is skipped, each result is in FILE once, e.g. --output scores.jsonl --resume")
    .option("--failed <file>", 'write each failed item to FILE as {"index","input","error","attempts"} and go on; exit 3 if any failed, e.g. --failed failed.jsonl')
    .option("--metrics-port <port>", "serve Prometheus metrics at http://127.0.0.1:PORT/metrics while the run goes (0: any free port, printed on stderr), e.g. --metrics-port 9464", integer(0, "--metrics-port", 65535))
    .addOption(new Option("--progress", "show the progress line even when stderr is not a terminal (a line every 2 s), e.g. --progress").conflicts("quiet"))
    .addOption(new Option("-q, --quiet", "no progress line and no summary on stderr (errors still show), e.g. --quiet"))
    .addHelpText("after", MAP_HELP_AFTER)
    .action((module: string, files: string[], options: MapCommandOptions) => run(() => mapCommand(module, files, options)));
};

export async function mapCommand(module: string, files: string[], o: MapCommandOptions): Promise<number> {
  checkArguments(module, files);
  if (o.workers === 0 && o.endpoint === undefined) throw new UsageError("--workers 0 leaves no worker to run tasks: add --endpoint for remote workers to join");
  const inputs = files.length > 0 ? files : ["-"];
  if (inputs.includes("-") && process.stdin.isTTY && !o.quiet) process.stderr.write("zerolb map: reading JSON Lines from the terminal (Ctrl-D ends the input)\n");
  const ordered = !o.unordered;
  const settled = o.settled === true;
  const showProgress = o.quiet ? false : o.progress === true || process.stderr.isTTY === true;

  const options = lbOptions(module, o, (line) => void process.stderr.write(`zerolb map: ${line}\n`));
  const controls = mapControls(o);
  // Opened (and, resuming, cut back to what the journal vouches for) before any process starts.
  const runFiles = new RunFiles({ output: o.output, failed: o.failed, resume: o.resume === true });
  let lb: LoadBalancer;
  try {
    lb = new LoadBalancer(options);
  } catch (err) {
    runFiles.close(false);
    // The constructor only checks options: whatever it throws is a usage error.
    throw new UsageError(describeError(err));
  }
  log("started a LoadBalancer for %s (pids %o)", module, lb.pids);

  // ---- Stopping: Ctrl-C / SIGTERM, a broken stdout, the grace period -------------------------
  let stopReason: "SIGINT" | "SIGTERM" | "EPIPE" | undefined;
  // Whoever waits for input (or for start-up) is woken by a stop. One waiter at a time, and no
  // Promise.race against a long-lived promise: each race would leave a reaction on it (a leak
  // per input line).
  let stopWaiter: ((value: typeof STOP) => void) | undefined;
  const stopSource = () => stopWaiter?.(STOP);
  const orStop = <T>(promise: Promise<T>): Promise<T | typeof STOP> =>
    stopReason !== undefined
      ? Promise.resolve(STOP)
      : new Promise<T | typeof STOP>((resolve, reject) => {
          stopWaiter = resolve;
          promise.then(resolve, reject);
        }).finally(() => (stopWaiter = undefined));
  const abort = new AbortController();
  let graceTimer: NodeJS.Timeout | undefined;
  let progress: Progress | undefined;
  const requestStop = (reason: "SIGINT" | "SIGTERM" | "EPIPE") => {
    if (stopReason !== undefined || reason === "EPIPE") {
      // A second Ctrl-C, or nobody reads the results any more: stop now.
      stopReason ??= reason;
      stopSource();
      pacer?.release();
      abort.abort(new Error(`stopped by ${reason}`));
      return;
    }
    stopReason = reason;
    log("%s: stop reading input; %d ms for running tasks", reason, o.grace);
    stopSource();
    pacer?.release();
    progress?.note(reason === "SIGINT" ? "stopping (^C again: now)" : `stopping (${reason})`);
    if (!showProgress && !o.quiet) process.stderr.write(`zerolb map: ${reason}: finishing running tasks (up to ${o.grace} ms)\n`);
    graceTimer = setTimeout(() => abort.abort(new Error(`running tasks did not finish within ${o.grace} ms`)), o.grace);
  };
  const onSigint = () => requestStop("SIGINT");
  const onSigterm = () => requestStop("SIGTERM");
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigterm);
  const out = new LineWriter(process.stdout, () => (process.stdout.isTTY ? progress?.clearLine() : undefined));
  const onStdoutError = (err: NodeJS.ErrnoException) => {
    log("stdout: %s", err.message);
    out.markBroken();
    requestStop("EPIPE");
  };
  process.stdout.on("error", onStdoutError);

  const openStreams = new Set<ReadStream | NodeJS.ReadStream>();
  let failure: { where: Location; error: unknown } | undefined;
  let inputError: JsonLinesError | undefined;
  let runError: unknown;
  let startupFailed = false;
  const messages: string[] = []; // for stderr, once the progress line is done
  let stopped = false;
  let pacer: Pacer | undefined;
  let metricsServer: MetricsServer | undefined;
  try {
    if (o.metricsPort !== undefined) {
      metricsServer = await serveMetrics(o.metricsPort, () => lb.metrics());
      if (!o.quiet || o.metricsPort === 0) process.stderr.write(`zerolb map: metrics at http://127.0.0.1:${metricsServer.port}/metrics\n`);
    }
    try {
      await orStop(lb.ready);
    } catch (err) {
      startupFailed = true;
      throw err;
    }
    if (stopReason) return finish();
    log("ready: %d local workers", lb.pids.workers.length);
    if (lb.endpoint !== undefined && !o.quiet) {
      // The port is known only now (port 0 = any free port): say how workers join.
      const serverKey = options.curve ? ` --server-key ${options.curve.publicKey} --key-file <worker key file>` : "";
      process.stderr.write(`zerolb map: remote workers can join at ${lb.endpoint}: zerolb worker ${module} --connect ${lb.endpoint}${serverKey}\n`);
    }

    if (showProgress) {
      const bar = (progress = new Progress({ stream: process.stderr, label: "zerolb map" }));
      const counted = inputs.includes("-") ? Promise.resolve(undefined) : countTotal(inputs, openStreams);
      void counted.then((n) => n !== undefined && bar.setTotal(n - runFiles.done.count));
      // Draw once the total is known, or after 200 ms without it (then done/rate only, until it is).
      void Promise.race([counted, new Promise((r) => setTimeout(r, 200).unref())]).then(() => !stopped && bar.start());
    }

    // ---- The source: records of every input, in order ------------------------------------------
    const locations = new Map<number, Location>(); // map index → where it came from
    let pulled = 0; // valid items handed to the map
    let emitted = 0; // valid items whose result was written (ordered mode)
    let records = 0;
    const waitingInvalid: { after: number; index: number; line: string | undefined; failedLine: string | undefined }[] = [];
    let room: (() => void) | undefined;
    const slots = Math.max(1, o.workers ?? availableParallelism()) * (o.concurrency ?? 1);
    const pace = (pacer = new Pacer({ min: Math.max(16, 2 * slots), max: o.highWaterMark ?? 1024, targetMs: 500 }));

    // Record `index` finished: `line` (if any) is its output line, `failedLine` its --failed line.
    // Not async: a row written without waiting (most) costs no promise; a wait is returned to await.
    const writeRow = (index: number, line: string | undefined, failed: boolean, failedLine?: string): Promise<void> | undefined => {
      progress?.tick(failed);
      if (runFiles.toFile || failedLine !== undefined) runFiles.finished(index, line, failedLine);
      if (runFiles.toFile || line === undefined) return undefined;
      return out.push(line);
    };
    const flushInvalid = async (all: boolean) => {
      while (waitingInvalid.length > 0 && (all || waitingInvalid[0]!.after <= emitted)) {
        const { index, line, failedLine } = waitingInvalid.shift()!;
        await writeRow(index, line, true, failedLine);
      }
      room?.();
      room = undefined;
    };

    async function* items(): AsyncGenerator<unknown> {
      for (const input of inputs) {
        const stream = input === "-" ? process.stdin : createReadStream(input);
        const file = input === "-" ? "stdin" : input;
        openStreams.add(stream);
        // Each line goes to a worker as its text, parsed there (wire/json-text.ts); a line that is not JSON
        // comes back as its task's JsonLinesError (notJson() below). A batch per chunk read: one wait per chunk.
        const iterator = jsonLineTexts(stream, { file });
        try {
          for (;;) {
            const next = iterator.next();
            next.catch(() => {});
            const r = await orStop(next);
            if (r === STOP || r.done) break;
            for (const record of r.value) {
              const index = records++;
              if (runFiles.done.has(index)) continue; // finished by the run this one resumes
              if (record.ok) {
                const wait = pace.room(() => pulled - emitted);
                if (wait) await wait;
                if (stopReason) return;
                locations.set(pulled++, o.failed === undefined ? { index, file, line: record.line } : { index, file, line: record.line, input: record.value });
                yield record.value;
              } else if (!settled && o.failed === undefined) {
                inputError = record.error;
                return; // the lines before it still finish and are written
              } else {
                const line = settled ? settledRow(index, false, errorInfo(record.error)) : undefined;
                const failedLine = o.failed === undefined ? undefined : failedRow(index, null, record.error);
                if (!ordered || emitted === pulled) await writeRow(index, line, true, failedLine);
                else {
                  waitingInvalid.push({ after: pulled, index, line, failedLine });
                  while (waitingInvalid.length >= MAX_WAITING_INVALID && !stopReason) await new Promise<void>((r) => (room = r));
                }
              }
            }
          }
        } finally {
          openStreams.delete(stream);
          if (stream !== process.stdin) stream.destroy();
        }
        if (stopReason) return;
      }
    }

    // ---- The results -------------------------------------------------------------------------
    const results = lb.map(items(), { ordered, settled: true, fn: o.fn, timeout: o.timeout, signal: abort.signal, ...controls });
    try {
      for await (const row of results) {
        const where = locations.get(row.index)!;
        locations.delete(row.index);
        const invalidLine = row.ok ? undefined : notJson(row.error, where);
        if (row.ok) {
          const wait = writeRow(where.index, settled ? settledRow(where.index, true, row.value) : toJson(row.value), false);
          if (wait) await wait; // most rows: no wait, and no await tick either
        } else if (settled || o.failed !== undefined) {
          const error = invalidLine ?? row.error;
          const line = settled ? settledRow(where.index, false, errorInfo(error)) : undefined;
          await writeRow(where.index, line, true, o.failed === undefined ? undefined : failedRow(where.index, invalidLine ? null : where.input, error));
        } else if (invalidLine) {
          progress?.tick(true);
          inputError = invalidLine;
          break; // as a line found invalid while reading: the lines before it are written (ordered)
        } else {
          progress?.tick(true);
          failure = { where, error: row.error };
          break;
        }
        emitted++;
        pace.result();
        if (waitingInvalid.length > 0) await flushInvalid(false);
      }
      if (!failure) await flushInvalid(true);
    } catch (err) {
      if (!(stopReason && abort.signal.aborted)) runError = err;
      else log("stopped: %s", describeError(err));
    }
    return finish();
  } catch (err) {
    runError = err;
    return finish();
  } finally {
    clearTimeout(graceTimer);
    for (const stream of openStreams) if (stream !== process.stdin) stream.destroy();
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigterm);
    // A Ctrl-C from now on ends the process at once (closing below is quick).
    stopped = true;
    pacer?.release();
    const workers = progress ? safeStats(lb) : undefined;
    // A run that went to its end needs no journal; any other keeps it for --resume.
    const complete = !failure && runError === undefined && !inputError && stopReason === undefined && !abort.signal.aborted;
    runFiles.close(complete);
    await metricsServer?.close();
    await out.end(); // results first: on a shared terminal the summary comes after them
    progress?.stop(workers);
    for (const message of messages) process.stderr.write(message);
    process.stdout.off("error", onStdoutError);
    // Nothing more is wanted after a failure or a stop: do not wait for cancelled tasks.
    const force = failure !== undefined || runError !== undefined || abort.signal.aborted;
    await lb.close({ force }).catch((err: unknown) => log("close: %s", describeError(err)));
    log("closed");
  }

  function finish(): number {
    if (failure) {
      const { where, error } = failure;
      messages.push(`zerolb map: ${where.file}:${where.line} (record ${where.index}) failed: ${failureText(error)}\n`);
      return EXIT.failed;
    }
    if (runError !== undefined) {
      if (startupFailed && isOptionError(runError)) throw new UsageError(describeError(runError));
      messages.push(`zerolb map: ${startupFailed ? "could not start" : "the run failed"}: ${describeError(runError)}\n`);
      const cause = (runError as Error).cause;
      if (cause instanceof Error && cause.stack) messages.push(`${indent(cause.stack)}\n`);
      return EXIT.failed;
    }
    if (inputError) {
      messages.push(`zerolb map: ${inputError.message}\n`);
      return EXIT.failed;
    }
    if (stopReason === "SIGINT") return EXIT.sigint;
    if (stopReason === "SIGTERM") return EXIT.sigterm;
    if (stopReason === "EPIPE") return 141; // like a command killed by SIGPIPE
    if (runFiles.failures > 0) {
      messages.push(`zerolb map: ${runFiles.failures} item${runFiles.failures === 1 ? "" : "s"} failed; see ${o.failed}\n`);
      return EXIT.someFailed;
    }
    return EXIT.ok;
  }
}

const STOP = Symbol("stop");
const ZEROLB_DIST = fileURLToPath(new URL("..", import.meta.url));
const INTERNAL_FRAME = /\(node:|at node:|async_hooks/;

function safeStats(lb: LoadBalancer) {
  try {
    return lb.stats().workers;
  } catch {
    return undefined;
  }
}

/** A task failure for a person: the handler's error and its stack (from the worker). */
function failureText(error: unknown): string {
  const info = errorInfo(error);
  let text = `${info.name}: ${info.message}${info.code && !info.message.includes(info.code) ? ` (${info.code})` : ""}`;
  const shown = error instanceof Error && (error as { code?: unknown }).code === "ERR_ZEROLB_TASK_FAILED" && error.cause instanceof Error ? error.cause : undefined;
  // The worker's stack, down to the handler's own frames (zerolb's and Node's are noise here).
  const stack = shown?.stack?.split("\n").slice(1).filter((frame) => !INTERNAL_FRAME.test(frame) && !frame.includes(ZEROLB_DIST)).join("\n");
  if (stack) text += `\n${stack}`;
  return text;
}

function indent(text: string): string {
  return text.replace(/^/gm, "    ");
}

/** Counts the records of the input files in the background, for the progress total. */
async function countTotal(files: string[], open: Set<ReadStream | NodeJS.ReadStream>): Promise<number | undefined> {
  let total = 0;
  try {
    for (const file of files) {
      const stream = createReadStream(file, { highWaterMark: 1024 * 1024 });
      open.add(stream);
      try {
        total += await countJsonLines(stream);
      } finally {
        open.delete(stream);
        stream.destroy();
      }
    }
    return total;
  } catch (err) {
    log("could not count the input lines: %s", describeError(err));
    return undefined;
  }
}
