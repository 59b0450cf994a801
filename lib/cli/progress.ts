// The live progress line of `zerolb map` on stderr: done/total (when known), a bar, the rate over
// the last seconds, the ETA and the failures. Drawn by cli-progress on its own timer (10 per
// second on a terminal, a new line every 2 s when forced onto a file or pipe), so counting a
// result costs one addition.
import cliProgress from "cli-progress";
import type { WorkerInfo } from "../wire/stats.js";

export interface ProgressOptions {
  stream: NodeJS.WriteStream;
  /** Label at the start of the line. */
  label: string;
}

interface Sample {
  t: number;
  done: number;
}

const RATE_WINDOW_MS = 5000;

export class Progress {
  readonly #bar: cliProgress.SingleBar;
  readonly #stream: NodeJS.WriteStream;
  readonly #label: string;
  readonly #tty: boolean;
  #total: number | undefined;
  #done = 0;
  #failed = 0;
  #startedAt = 0;
  #samples: Sample[] = [];
  #note = "";
  #active = false;
  #stopped = false;

  constructor(options: ProgressOptions) {
    this.#startedAt = Date.now();
    this.#samples = [{ t: this.#startedAt, done: 0 }];
    this.#stream = options.stream;
    this.#label = options.label;
    this.#tty = options.stream.isTTY === true;
    this.#bar = new cliProgress.SingleBar({
      stream: options.stream,
      format: (_options, params) => (this.#tty ? this.#format(params.maxWidth) : `${this.#format(0)}\n`),
      fps: 10,
      forceRedraw: true, // results written to the same terminal may have scrolled the line away
      hideCursor: true,
      linewrap: false,
      gracefulExit: false, // zerolb map handles SIGINT itself
      noTTYOutput: !this.#tty,
      notTTYSchedule: 2000,
      etaBuffer: 1,
    });
    // cli-progress saves the cursor position at start() and restores it at stop(): an absolute
    // screen position, wrong once results written to the same terminal have scrolled it. The
    // line is redrawn in place with \r anyway, so both are turned off.
    // Off a terminal, each state is a line of its own: ended by #format, not by a second newline.
    const terminal = (this.#bar as unknown as { terminal: Record<"cursorSave" | "cursorRestore" | "newline", () => void> }).terminal;
    terminal.cursorSave = terminal.cursorRestore = () => {};
    if (!this.#tty) terminal.newline = () => {};
  }

  /** Starts drawing (counting starts at construction). */
  start(): void {
    if (this.#active || this.#stopped) return;
    this.#active = true;
    this.#bar.start(this.#total ?? 0, 0);
  }

  /** The number of items, once known (counted while the run goes). */
  setTotal(total: number): void {
    this.#total = total;
    this.#bar.setTotal(total);
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
    return Date.now() - this.#startedAt;
  }

  /** Wipes the line so that text written to the same terminal starts on a clean line. */
  clearLine(): void {
    if (this.#active && this.#tty) this.#stream.write("\r\x1b[K");
  }

  /** Draws the last state, ends the line and prints the summary with the per-worker split. */
  stop(workers: WorkerInfo[] | undefined): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#active) {
      this.#active = false;
      this.#bar.update(this.#done);
      this.#bar.stop();
    }
    this.#stream.write(summary(this.#label, this.#done, this.#failed, this.elapsedMs, workers));
  }

  #format(maxWidth: number): string {
    const now = Date.now();
    this.#samples.push({ t: now, done: this.#done });
    while (this.#samples.length > 2 && now - this.#samples[1]!.t >= RATE_WINDOW_MS) this.#samples.shift();
    const first = this.#samples[0]!;
    const span = now - first.t;
    const rate = span > 0 ? ((this.#done - first.done) * 1000) / span : 0;
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
    if (total !== undefined && total > this.#done) parts.push(`ETA ${rate > 0 ? formatDuration(((total - this.#done) / rate) * 1000) : "?"}`);
    parts.push(`${this.#failed} failed`);
    parts.push(formatDuration(now - this.#startedAt));
    if (this.#note) parts.push(this.#note);
    const line = parts.join(" | ");
    return maxWidth > 0 && line.length > maxWidth ? line.slice(0, maxWidth) : line;
  }
}

/** The closing lines: totals, throughput and how many items each worker did. */
export function summary(label: string, done: number, failed: number, elapsedMs: number, workers: WorkerInfo[] | undefined): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
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
