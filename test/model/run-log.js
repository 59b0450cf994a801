// The execution log the model handler (fixtures/model-handler.js) writes: one "S" line when a task
// starts and one "E" line when it ends, with the worker's pid. Positions are byte offsets, so the
// test can compare "what had started when I cancelled" (the file's size then) with what came after.
import { existsSync, readFileSync, statSync } from "node:fs";

/**
 * @typedef {{ type: "S" | "A" | "E", pid: number, key: string, how: string, signal: string, offset: number }} LogEntry
 *   `type`: start, ctx.signal aborted while running, end; `offset`: where the line starts in the
 *   file; `how`: the attempt for "S", "done" or "abort" for "E"; `signal`: for "S", "fresh" or
 *   "aborted" (ctx.signal was aborted before the handler ran).
 */

export class RunLog {
  /** @param {string} path */
  constructor(path) {
    this.path = path;
  }

  /** The file's size now: every line that starts before it was written before this call. */
  size() {
    return existsSync(this.path) ? statSync(this.path).size : 0;
  }

  /** @returns {LogEntry[]} every complete line, in file order */
  entries() {
    if (!existsSync(this.path)) return [];
    const text = readFileSync(this.path, "utf8");
    const out = [];
    let offset = 0;
    for (const line of text.split("\n")) {
      const start = offset;
      offset += Buffer.byteLength(line) + 1;
      if (line === "") continue;
      const [type, pid, key, how, signal] = line.split(" ");
      out.push({ type, pid: Number(pid), key, how, signal, offset: start });
    }
    return out;
  }

  /** Keys with a START line that begins before `offset`. */
  startedBefore(offset) {
    return new Set(this.entries().filter((e) => e.type === "S" && e.offset < offset).map((e) => e.key));
  }

  /** Whether `key` has an END line now. */
  hasEnded(key) {
    return this.entries().some((e) => e.type === "E" && e.key === key);
  }
}
