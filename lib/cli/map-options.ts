// `zerolb map`'s options as commander gives them, and how they become LoadBalancer options.
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { LoadBalancerOptions } from "../caller/options.js";
import type { MapOptions } from "../caller/call-options.js";
import { parseEndpoint } from "../wire/transport.js";
import { InvalidArgumentError } from "commander";
import { UsageError } from "./common.js";
import { readKeyPair, readPublicKey } from "./key-files.js";

export interface MapCommandOptions {
  fn?: string;
  workers?: number;
  concurrency?: number;
  unordered?: boolean;
  settled?: boolean;
  timeout?: number;
  endpoint?: string;
  curveKeyFile?: string;
  allow?: string[];
  insecure?: boolean;
  highWaterMark?: number;
  workerData?: unknown;
  grace: number;
  progress?: boolean;
  quiet?: boolean;
  retries?: number;
  retryDelay?: number;
  priority?: number;
  rateLimit?: { tasks: number; per: number };
  maxTasksPerWorker?: number;
  maxWorkerMemory?: number;
  batchSize?: number;
  batchWait?: number;
  output?: string;
  resume?: boolean;
  failed?: string;
  metricsPort?: number;
}

/** Parses --rate-limit N/MS: at most N task starts in any MS milliseconds. */
export function rateLimitArgument(value: string): { tasks: number; per: number } {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  const tasks = match ? Number(match[1]) : NaN;
  const per = match ? Number(match[2]) : NaN;
  if (!match || tasks < 1 || per < 1 || tasks > 1_000_000 || per > 2 ** 31 - 1) {
    throw new InvalidArgumentError(`--rate-limit must be N/MS (at most N task starts in any MS milliseconds, both whole numbers >= 1), e.g. --rate-limit 10/1000; received ${JSON.stringify(value)}.`);
  }
  return { tasks, per };
}

/** The map call's own options from the flags: retries, priority, batches. */
export function mapControls(o: MapCommandOptions): Pick<MapOptions, "retries" | "retryDelay" | "priority" | "batchSize" | "batchWait"> {
  if (o.batchWait !== undefined && (o.batchSize ?? 1) === 1) throw new UsageError("--batch-wait needs --batch-size N with N > 1 (it is how long a worker waits for a batch to fill)");
  if (o.retryDelay !== undefined && o.retries === undefined) throw new UsageError("--retry-delay needs --retries N (it is the delay before the first retry)");
  return {
    ...(o.retries !== undefined ? { retries: o.retries } : {}),
    ...(o.retryDelay !== undefined ? { retryDelay: o.retryDelay } : {}),
    ...(o.priority !== undefined ? { priority: o.priority } : {}),
    ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
    ...(o.batchWait !== undefined ? { batchWait: o.batchWait } : {}),
  };
}


export function checkArguments(module: string, files: string[]): void {
  if (!module.startsWith("file:") && !existsSync(resolve(module))) throw new UsageError(`cannot find the handler module ${module}`);
  if (files.filter((f) => f === "-").length > 1) throw new UsageError("stdin ('-') can be read only once");
  for (const file of files) {
    if (file === "-") continue;
    try {
      accessSync(file, constants.R_OK);
      if (statSync(file).isDirectory()) throw new UsageError(`${file} is a directory, not a JSON Lines file`);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
}

/**
 * The remote endpoint's security from --curve-key-file, --allow and --insecure, checked here so
 * the message names the flags (the LoadBalancer's would name its options).
 */
function remoteOptions(o: MapCommandOptions, warn: (line: string) => void): Pick<LoadBalancerOptions, "curve" | "insecure"> {
  if (o.endpoint === undefined) {
    const flag = o.curveKeyFile !== undefined ? "--curve-key-file" : o.allow !== undefined ? "--allow" : o.insecure ? "--insecure" : undefined;
    if (flag) throw new UsageError(`${flag} applies to the remote endpoint: add --endpoint (e.g. --endpoint tcp://0.0.0.0:5555)`);
    return {};
  }
  if (o.allow !== undefined && o.curveKeyFile === undefined) throw new UsageError("--allow needs --curve-key-file: the allow-list is checked in the Curve handshake");
  const parsed = parseEndpoint(o.endpoint);
  if (parsed && !parsed.loopback && o.curveKeyFile === undefined && !o.insecure) {
    throw new UsageError(
      `--endpoint ${o.endpoint} is not a loopback address: encrypt it with --curve-key-file (a key pair from \`zerolb keygen --out broker.key.json\`) ` +
        "and --allow the workers' public keys, or pass --insecure to accept plain-text workers anyway",
    );
  }
  if (o.curveKeyFile === undefined) return o.insecure ? { insecure: true } : {};
  const pair = readKeyPair(o.curveKeyFile, "--curve-key-file", warn);
  const allow = o.allow?.map((key) => readPublicKey(key, "--allow", "a worker's public key; put input files before --allow"));
  return { curve: { ...pair, ...(allow ? { allow } : {}) }, ...(o.insecure ? { insecure: true } : {}) };
}

export function lbOptions(module: string, o: MapCommandOptions, warn: (line: string) => void): LoadBalancerOptions {
  const options: LoadBalancerOptions = { worker: module.startsWith("file:") ? new URL(module) : module };
  if (o.workers !== undefined) options.workers = o.workers;
  if (o.concurrency !== undefined) options.concurrency = o.concurrency;
  if (o.highWaterMark !== undefined) options.highWaterMark = o.highWaterMark;
  if (o.endpoint !== undefined) options.endpoint = o.endpoint;
  if (o.workerData !== undefined) options.workerData = o.workerData;
  if (o.rateLimit !== undefined) options.rateLimit = o.rateLimit;
  if (o.maxTasksPerWorker !== undefined) options.maxTasksPerWorker = o.maxTasksPerWorker;
  if (o.maxWorkerMemory !== undefined) options.maxWorkerMemory = o.maxWorkerMemory;
  return { ...options, ...remoteOptions(o, warn) };
}
