// `zerolb map --output FILE [--resume] [--failed FAILED]`: the files a run writes, and the journal
// beside FILE that lets a run killed at any point (Ctrl-C, kill -9, a reboot) be continued with
// --resume so that every item's result is in FILE exactly once.
//
// How it knows what was done: lines are written in batches, and after each batch is in FILE (and
// FAILED) one journal line records the files' lengths and the input indices the batch finished:
//   {"o":<FILE's length>,"f":<FAILED's length>,"d":[[from,to),…]}
// A batch is done only once its journal line is complete. On --resume the last complete journal
// line gives the lengths: FILE and FAILED are cut back to them (a torn last line, or lines of a
// batch whose journal line never got written, go), and the items of every journal line are skipped.
// The journal is removed when a run finishes; a finished FILE has none, so --resume refuses it.
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { UsageError } from "./common.js";

/** When this many characters are waiting, they are written at once (else at the end of the turn). */
const BATCH_CHARS = 64 * 1024;

/** Sorted, merged [from, to) ranges of input indices: what earlier runs finished. */
export class IndexRanges {
  readonly #ranges: [number, number][];
  #at = 0;
  readonly count: number;

  constructor(ranges: [number, number][]) {
    const sorted = ranges.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
    const merged: [number, number][] = [];
    for (const [a, b] of sorted) {
      const last = merged[merged.length - 1];
      if (last && a <= last[1]) last[1] = Math.max(last[1], b);
      else merged.push([a, b]);
    }
    this.#ranges = merged;
    this.count = merged.reduce((n, [a, b]) => n + b - a, 0);
  }

  /** Whether `index` is done. Asked in increasing order of index (the input's order). */
  has(index: number): boolean {
    while (this.#at < this.#ranges.length && this.#ranges[this.#at]![1] <= index) this.#at++;
    const range = this.#ranges[this.#at];
    return range !== undefined && range[0] <= index;
  }
}

/** Indices as [from, to) ranges (a batch of an ordered run is one range). */
function toRanges(indices: number[]): [number, number][] {
  const sorted = [...indices].sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  for (const i of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === i) last[1] = i + 1;
    else ranges.push([i, i + 1]);
  }
  return ranges;
}

export function journalPath(output: string): string {
  return `${output}.zerolb-journal`;
}

export interface RunFilesOptions {
  /** --output: results go here instead of stdout, with a journal beside it. */
  output: string | undefined;
  /** --failed: one line per failed item. */
  failed: string | undefined;
  resume: boolean;
}

/**
 * The run's output and failures files. `result()` and `failure()` queue lines; they are written
 * with the journal line after them at the end of the turn (or past BATCH_CHARS).
 */
export class RunFiles {
  /** What earlier runs finished (empty unless resuming). */
  readonly done: IndexRanges;
  readonly #outFd: number | undefined;
  readonly #failedFd: number | undefined;
  readonly #journalFd: number | undefined;
  readonly #journal: string | undefined;
  #outLength = 0;
  #failedLength = 0;
  #out: string[] = [];
  #failedLines: string[] = [];
  #chars = 0;
  #indices: number[] = [];
  #scheduled: NodeJS.Immediate | undefined;
  /** Items that failed in this run (written to --failed). */
  failures = 0;

  constructor(o: RunFilesOptions) {
    if (o.resume && o.output === undefined) throw new UsageError("--resume needs --output FILE: it continues the run that wrote FILE");
    if (o.output !== undefined && o.failed !== undefined && o.output === o.failed) throw new UsageError("--failed must be another file than --output");
    let earlier: { o: number; f: number; done: [number, number][] } | undefined;
    if (o.output !== undefined) {
      this.#journal = journalPath(o.output);
      const journalExists = existsSync(this.#journal);
      if (!o.resume && journalExists) {
        throw new UsageError(`${this.#journal} shows that a run writing ${o.output} did not finish: add --resume to continue it, or remove both files to start over`);
      }
      if (o.resume && !journalExists && existsSync(o.output)) {
        throw new UsageError(`${o.output} has no journal (${this.#journal}): the run that wrote it finished, or was not a zerolb map --output run; nothing to resume`);
      }
      if (journalExists) earlier = readJournal(this.#journal);
    }
    this.done = new IndexRanges(earlier?.done ?? []);
    try {
      // With a journal, the files are continued (cut back to what it vouches for); else begun afresh.
      if (o.output !== undefined) [this.#outFd, this.#outLength] = openCut(o.output, earlier?.o, "--output");
      if (o.failed !== undefined) [this.#failedFd, this.#failedLength] = openCut(o.failed, earlier ? earlier.f : undefined, "--failed");
      if (this.#journal !== undefined) {
        this.#journalFd = openSync(this.#journal, "a");
        if (!earlier) this.#record([]); // the journal exists from the first batch on
      }
    } catch (err) {
      this.#closeFiles();
      throw err;
    }
  }

  /** Whether results go to --output (else to stdout). */
  get toFile(): boolean {
    return this.#outFd !== undefined;
  }

  /** Input record `index` finished: `line` goes to --output, `failedLine` (if any) to --failed. */
  finished(index: number, line: string | undefined, failedLine?: string): void {
    if (line !== undefined && this.#outFd !== undefined) {
      this.#out.push(line, "\n");
      this.#chars += line.length + 1;
    }
    if (failedLine !== undefined && this.#failedFd !== undefined) {
      this.failures++;
      this.#failedLines.push(failedLine, "\n");
      this.#chars += failedLine.length + 1;
    }
    this.#indices.push(index);
    if (this.#chars >= BATCH_CHARS) this.flush();
    else this.#scheduled ??= setImmediate(() => this.flush());
  }

  /** Writes the queued lines, then the journal line that makes them done. */
  flush(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    if (this.#indices.length === 0) return;
    if (this.#out.length > 0) this.#outLength += writeAll(this.#outFd!, this.#out.join(""));
    if (this.#failedLines.length > 0) this.#failedLength += writeAll(this.#failedFd!, this.#failedLines.join(""));
    this.#record(this.#indices);
    this.#out = [];
    this.#failedLines = [];
    this.#indices = [];
    this.#chars = 0;
  }

  /** Writes what is queued and closes the files; a run that `finished` removes its journal. */
  close(finished: boolean): void {
    this.flush();
    this.#closeFiles();
    if (finished && this.#journal !== undefined) rmSync(this.#journal, { force: true });
  }

  #record(indices: number[]): void {
    if (this.#journalFd === undefined) return;
    writeAll(this.#journalFd, `${JSON.stringify({ o: this.#outLength, f: this.#failedLength, d: toRanges(indices) })}\n`);
  }

  #closeFiles(): void {
    for (const fd of [this.#outFd, this.#failedFd, this.#journalFd]) if (fd !== undefined) closeSync(fd);
  }
}

function writeAll(fd: number, text: string): number {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
  return bytes.length;
}

/** Opens `path` for appending, cut back to `length` (a journal's), or emptied when there is none. */
function openCut(path: string, length: number | undefined, flag: string): [number, number] {
  let fd: number;
  try {
    fd = openSync(path, length === undefined ? "w" : "a");
  } catch (err) {
    throw new UsageError(`cannot write ${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (length === undefined) return [fd, 0];
  const size = fstatSync(fd).size;
  if (size < length) {
    closeSync(fd);
    throw new UsageError(`${flag} ${path} is shorter (${size} bytes) than its journal says (${length}): it was changed since; remove it and its journal to start over`);
  }
  if (size > length) ftruncateSync(fd, length);
  return [fd, length];
}

/** The last complete journal line's lengths and every complete line's indices. */
function readJournal(path: string): { o: number; f: number; done: [number, number][] } {
  const text = readFileSync(path, "utf8");
  const lines = text.split("\n");
  lines.pop(); // after the last "\n": empty, or a line cut short by the crash
  let last: { o: number; f: number } | undefined;
  const done: [number, number][] = [];
  for (const line of lines) {
    let entry: { o?: unknown; f?: unknown; d?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      throw new UsageError(`${path} is not a zerolb map journal (line ${JSON.stringify(line.slice(0, 40))}); remove it and the output to start over`);
    }
    if (typeof entry.o !== "number" || typeof entry.f !== "number" || !Array.isArray(entry.d)) throw new UsageError(`${path} is not a zerolb map journal; remove it and the output to start over`);
    last = { o: entry.o, f: entry.f };
    for (const range of entry.d as [number, number][]) done.push([range[0], range[1]]);
  }
  return { o: last?.o ?? 0, f: last?.f ?? 0, done };
}
