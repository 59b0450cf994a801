// The broker's side of its caller: one ROUTER (the frontend), whose single writer sends the
// results gathered since the last send as one Results message, and the broker's counts: on the
// results, at most every STATS_EVERY_MS, and on their own when they changed and no result flows.
import { performance } from "node:perf_hooks";
import type * as zmq from "zeromq";
import { logger } from "../shared/debug.js";
import { BodyRanges } from "../wire/body-ranges.js";
import { column, ColumnBuilder } from "../wire/columns.js";
import { Outbox, type Frames } from "../wire/outbox.js";
import { encodeHeader, Kind } from "../wire/protocol.js";
import type { BrokerStats, MembershipEvent } from "../wire/stats.js";

const log = logger("broker");

/** The routing id of the caller's DEALER: the only peer the frontend takes messages from. */
export const CALLER_ID = "caller";
/** Stats ride on result messages at most this often (and always when the broker goes idle). */
const STATS_EVERY_MS = 250;
/** Membership messages kept while the caller has not spoken yet (past it, the oldest are the ones kept). */
const MAX_UNSENT = 4096;

/** Results waiting to go to the caller, as columns. Pipelines write an item's result through it. */
export class ResultBatch {
  seq: number[] = [];
  st: number[] = [];
  len: number[] = [];
  /** Runs each task took (1 but for retries and deaths): the caller's errors carry it as `attempts`. */
  readonly att = new ColumnBuilder<number>();
  readonly body = new BodyRanges();

  /** Result `seq`: bytes [start, end) of `buffer`, after `runs` runs. */
  add(seq: number, status: number, buffer: Uint8Array, start = 0, end = buffer.length, runs = 1): void {
    this.seq.push(seq);
    this.att.push(runs);
    this.st.push(status);
    this.len.push(end - start);
    this.body.add(buffer, start, end);
  }

  /** Appends bytes [start, end) of `buffer` to the result added last. */
  extend(buffer: Uint8Array, start: number, end: number): void {
    this.len[this.len.length - 1]! += end - start;
    this.body.add(buffer, start, end);
  }
}

export class CallerLink {
  readonly #outbox: Outbox;
  readonly #id = Buffer.from(CALLER_ID);
  readonly #stats: () => BrokerStats;
  readonly #idle: () => boolean;
  #results = new ResultBatch();
  #statsDue = false;
  #statsSentAt = 0;
  /** Sends the counts when STATS_EVERY_MS have passed since the last ones (one timer, not one per change). */
  #statsTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /**
   * Whether the caller has spoken to this broker yet. Until it has, its connection may not be up,
   * and a ROUTER drops what it cannot route: Membership messages wait in #unsent (the caller sends
   * a StatsRequest at each connection, so the wait is short).
   */
  #heard = false;
  #unsent: Frames[] = [];

  /** `stats()`: the broker's counts now; `idle()`: nothing queued or in flight (the counts then go with the last result). */
  constructor(socket: zmq.Router, stats: () => BrokerStats, idle: () => boolean) {
    this.#stats = stats;
    this.#idle = idle;
    this.#outbox = new Outbox(socket, (err) => log("send to caller failed: %O", err), () => this.#produce());
  }

  /** Where outcomes for the caller are written (several per message). */
  get results(): ResultBatch {
    return this.#results;
  }

  /** Outcomes were written: send them when the socket is free. */
  wake(): void {
    this.#outbox.wake();
  }

  /** Tasks that lost their worker and were queued again, with their deaths so far (the caller keeps them). */
  retried(seq: number[], att: number[], why: string): void {
    this.#outbox.push([this.#id, encodeHeader(Kind.Retried, { seq, att, why })]);
  }

  /**
   * Collects, for one worker message of results, the tasks whose handler failed and that will run
   * again (`retries`): their runs so far, the failed run's status and its error value (a range of
   * `buffer`), sent to the caller in one Retried message for its "retry" event.
   */
  retryNotices(): { add(seq: number, runs: number, status: number, buffer: Uint8Array, start: number, end: number): void; send(): void } {
    const seq: number[] = [];
    const att: number[] = [];
    const st: number[] = [];
    const len: number[] = [];
    const body = new BodyRanges();
    return {
      add: (s, runs, status, buffer, start, end) => {
        seq.push(s), att.push(runs), st.push(status), len.push(end - start);
        body.add(buffer, start, end);
      },
      send: () => {
        if (seq.length > 0) this.#outbox.push([this.#id, encodeHeader(Kind.Retried, { seq, att, st, why: "error", len }), body.take()]);
      },
    };
  }

  /** A worker joined or was taken out: the caller's "workerJoin" and "workerExit" events. */
  membership(event: MembershipEvent): void {
    const frames: Frames = [this.#id, encodeHeader(Kind.Membership, { ...event })];
    if (this.#heard) return this.#outbox.push(frames);
    if (this.#unsent.length < MAX_UNSENT) this.#unsent.push(frames);
  }

  /** A message came from the caller: it is connected, and hears what waited for it. */
  heard(): void {
    if (this.#heard) return;
    this.#heard = true;
    for (const frames of this.#unsent) this.#outbox.push(frames);
    this.#unsent = [];
  }

  /** The answer to a StatsRequest. */
  sendStats(): void {
    this.#outbox.push([this.#id, encodeHeader(Kind.Stats, { stats: this.#stats() })]);
  }

  /** The counts changed in a way the caller must see soon (a worker joined or left): send them now. */
  statsDue(): void {
    this.#statsDue = true;
    this.#outbox.wake();
  }

  /**
   * Counts the caller shows changed (tasks dispatched while no results flow, say, so none carry
   * stats): they reach the caller within STATS_EVERY_MS, in one message however many changes.
   */
  statsChanged(): void {
    if (this.#statsDue || this.#statsTimer || this.#closed) return;
    const wait = STATS_EVERY_MS - (performance.now() - this.#statsSentAt);
    if (wait <= 0) return this.statsDue();
    this.#statsTimer = setTimeout(() => {
      this.#statsTimer = undefined;
      this.statsDue();
    }, wait);
    this.#statsTimer.unref();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#statsTimer);
  }

  #produce(): Frames | undefined {
    const batch = this.#results;
    if (batch.seq.length === 0) {
      if (!this.#statsDue) return undefined;
      this.#statsDue = false;
      this.#statsSentAt = performance.now();
      return [this.#id, encodeHeader(Kind.Stats, { stats: this.#stats() })];
    }
    this.#results = new ResultBatch();
    const fields: Record<string, unknown> = { seq: batch.seq, st: column(batch.st), len: batch.len };
    const att = batch.att.take();
    if (att !== 1) fields.att = att;
    // When the broker goes idle, the caller gets exact counts in the same message as the last result:
    // as JSON text in a last frame (`sj`), not in the header. A frame of more than 128 bytes given as
    // a Buffer is sent without a copy, and zeromq.js then wakes this thread to release it once libzmq
    // is done with it; text is copied, and needs no wake-up. One task at a time, the broker goes idle
    // after every result: that wake-up was a fifth of its CPU per round trip.
    const now = performance.now();
    let statsText: string | undefined;
    if (this.#statsDue || now - this.#statsSentAt >= STATS_EVERY_MS || this.#idle()) {
      this.#statsDue = false;
      this.#statsSentAt = now;
      statsText = JSON.stringify(this.#stats());
      fields.sj = 1;
    }
    // Large results go on as views of the worker messages they came in (the caller reads bodies of several frames).
    const frames: Frames = [this.#id, encodeHeader(Kind.Results, fields), ...batch.body.takeFrames()];
    if (statsText !== undefined) frames.push(statsText);
    return frames;
  }
}
