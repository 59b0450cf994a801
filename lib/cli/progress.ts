// The live progress line of `zerolb map` on stderr: done/total (when known), a bar, the rate over
// the last seconds, the ETA and the failures. Redrawn on a timer of its own (10 times a second on a
// terminal, in place with \r; a new line every 2 s when forced onto a file or pipe), so counting a
// result costs one addition.
import type { WorkerInfo } from "../wire/stats.js";
import { etaMs, RateMeter } from "../shared/rate.js";

export interface ProgressOptions {
  stream: NodeJS.WriteStream;
  /** Label at the start of the line. */
  label: string;
}

/** Redraws per second on a terminal; off one, a line every NOT_TTY_EVERY_MS. */
const TTY_EVERY_MS = 100;
const NOT_TTY_EVERY_MS = 2000;
/** Terminal control: hide and show the cursor, clear to the end of the line. */
const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";
const CLEAR_TO_END = "\x1b[K";

export class Progress {
  readonly #stream: NodeJS.WriteStream;
  readonly #label: string;
  readonly #tty: boolean;
  #total: number | undefined;
  #done = 0;
  #failed = 0;
  #startedAt = 0;
  readonly #rate: RateMeter;
  /** When the run ended (stop()): the last line and the summary are of that moment. */
  #endedAt: number | undefined;
  #note = "";
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: ProgressOptions) {
    this.#startedAt = Date.now();
    this.#rate = new RateMeter(this.#startedAt);
    this.#stream = options.stream;
    this.#label = options.label;
    this.#tty = options.stream.isTTY === true;
  }

  /** Starts drawing (counting starts at construction). */
  start(): void {
    if (this.#timer || this.#stopped) return;
    if (this.#tty) this.#stream.write(HIDE_CURSOR);
    this.#draw();
    this.#timer = setInterval(() => this.#draw(), this.#tty ? TTY_EVERY_MS : NOT_TTY_EVERY_MS);
    this.#timer.unref();
  }

  /**
   * One frame: on a terminal the line is redrawn where it is (results written to the same terminal
   * may have scrolled it, so no saved cursor position is used), cut to the terminal's width.
   */
  #draw(): void {
    if (this.#tty) this.#stream.write(`\r${this.#format(this.#stream.columns ?? 0)}${CLEAR_TO_END}`);
    else this.#stream.write(`${this.#format(0)}\n`);
  }

  /** The number of items, once known (counted while the run goes). */
  setTotal(total: number): void {
    this.#total = total;
  }

  /** Counts one finished item. */
  tick(failed: boolean): void {
    this.#done++;
    if (failed) this.#failed++;
  }

  /** A word shown at the end of the line ("stopping: 3 running"). */
  note(text: string): void {
    this.#note = text;
  }

  get done(): number {
    return this.#done;
  }

  get failed(): number {
    return this.#failed;
  }

  get elapsedMs(): number {
    return (this.#endedAt ?? Date.now()) - this.#startedAt;
  }

  /** Wipes the line so that text written to the same terminal starts on a clean line. */
  clearLine(): void {
    if (this.#timer && this.#tty) this.#stream.write(`\r${CLEAR_TO_END}`);
  }

  /** Draws the last state, ends the line and prints the summary with the per-worker split. */
  stop(workers: WorkerInfo[] | undefined): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#endedAt = Date.now();
    if (this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      this.#draw(); // the last state
      if (this.#tty) this.#stream.write(`\n${SHOW_CURSOR}`);
    }
    this.#stream.write(summary(this.#label, this.#done, this.#failed, this.elapsedMs, this.#rate.rate(this.#endedAt, this.#done, true), workers));
  }

  #format(maxWidth: number): string {
    // After stop(), the last line is of the run's end, with the whole run's rate: the summary's.
    const now = this.#endedAt ?? Date.now();
    const rate = this.#rate.rate(now, this.#done, this.#endedAt !== undefined);
    const parts: string[] = [];
    const total = this.#total;
    if (total !== undefined && total > 0) {
      const fraction = Math.min(1, this.#done / total);
      const width = 16;
      const full = Math.floor(fraction * width);
      parts.push(`${"█".repeat(full)}${"░".repeat(width - full)} ${(fraction * 100).toFixed(0).padStart(3)}% ${this.#done}/${total}`);
    } else {
      parts.push(`${this.#done} done`);
    }
    parts.push(`${formatRate(rate)}/s`);
    if (total !== undefined && total > this.#done) parts.push(`ETA ${formatDuration(etaMs(total, this.#done, rate) ?? Infinity)}`);
    parts.push(`${this.#failed} failed`);
    parts.push(formatDuration(now - this.#startedAt));
    if (this.#note) parts.push(this.#note);
    const line = parts.join(" | ");
    return maxWidth > 0 && line.length > maxWidth ? line.slice(0, maxWidth) : line;
  }
}

/** The closing lines: totals, throughput (`rate`, from the run's RateMeter) and how many items each worker did. */
export function summary(label: string, done: number, failed: number, elapsedMs: number, rate: number, workers: WorkerInfo[] | undefined): string {
  let text = `${label}: ${done} done, ${failed} failed in ${formatDuration(elapsedMs)} (${formatRate(rate)}/s)\n`;
  const active = (workers ?? []).filter((w) => w.done > 0).sort((a, b) => a.index - b.index);
  const sum = active.reduce((n, w) => n + w.done, 0);
  for (const w of active) {
    const share = sum > 0 ? ((w.done * 100) / sum).toFixed(1) : "0.0";
    text += `  worker ${String(w.index).padStart(2)}  pid ${String(w.pid).padEnd(7)} ${w.local ? "local " : "remote"} ${String(w.done).padStart(9)} tasks  ${share.padStart(5)}%\n`;
  }
  return text;
}

export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(1)}k`;
  if (perSecond >= 100) return perSecond.toFixed(0);
  return perSecond.toFixed(1);
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "?";
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
