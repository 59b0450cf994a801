// Hand-written protocol peers for tests (docs/protocol.md): message kinds, headers, and an inbox
// that hands out a socket's messages in order, decoded. Shared by the fleet tests and the
// conformance suite (test/conformance/suite.js).
import { decode, encode } from "@msgpack/msgpack";
import { within } from "./helpers.js";

export const V = 1;
export const Kind = { Hello: 1, Ready: 2, WorkerResults: 3, Bye: 4, Welcome: 10, Tasks: 11, Cancel: 12, Reset: 13, Refused: 14, Goodbye: 15 };
export const Status = { Ok: 0, Error: 1, Timeout: 2, Cancelled: 5 };
export const header = (k, fields = {}, v = V) => Buffer.from(encode({ v, k, ...fields }));

/** Messages arriving on a socket, decoded ({ h, body, parts, from? }), taken in order with next(). */
export function inbox(socket, router = false) {
  const queue = [];
  const all = [];
  let wake;
  void (async () => {
    for await (const frames of socket) {
      const [from, h, body] = router ? frames : [undefined, ...frames];
      if (router && frames.length === 2 && h.length === 0) continue; // a connection notice
      let decoded;
      try {
        decoded = decode(h);
      } catch {
        decoded = { k: -1 };
      }
      // parts: every body frame (a body may come in several: docs/protocol.md, "Bodies in several frames").
      const message = { from, h: decoded, body, parts: frames.slice(router ? 2 : 1) };
      queue.push(message);
      all.push(message);
      wake?.();
    }
  })().catch(() => {});
  return {
    /** Every message so far, taken or not. */
    all,
    /** How many messages of this kind arrived so far, taken or not. */
    count: (kind) => all.filter((m) => m.h.k === kind).length,
    /** The next message of one of `kinds`; messages of other kinds before it are dropped. */
    async next(kinds, what, ms = 60_000) {
      const wanted = [kinds].flat();
      return within(
        (async () => {
          for (;;) {
            const i = queue.findIndex((m) => wanted.includes(m.h.k));
            if (i >= 0) return queue.splice(0, i + 1).pop();
            queue.length = 0;
            await new Promise((resolve) => (wake = resolve));
          }
        })(),
        ms,
        what ?? `a message of kind ${wanted}`,
      );
    },
    /** The first message of one of `kinds` not yet taken; other messages stay queued. */
    async take(kinds, what, ms = 60_000) {
      const wanted = [kinds].flat();
      return within(
        (async () => {
          for (;;) {
            const i = queue.findIndex((m) => wanted.includes(m.h.k));
            if (i >= 0) return queue.splice(i, 1)[0];
            await new Promise((resolve) => (wake = resolve));
          }
        })(),
        ms,
        what ?? `a message of kind ${wanted}`,
      );
    },
    /** Messages of these kinds received so far and not taken. */
    pending(kinds) {
      return queue.filter((m) => [kinds].flat().includes(m.h.k));
    },
  };
}

/** Splits a Tasks message into { seq, fn, att, to, id, input }, columns as arrays or scalars. */
export function tasksOf({ h, body }) {
  let offset = 0;
  return h.seq.map((seq, i) => {
    const col = (name, fallback) => (Array.isArray(h[name]) ? h[name][i] : h[name] ?? fallback);
    const input = decode(body.subarray(offset, offset + h.len[i]));
    offset += h.len[i];
    return { seq, fn: col("fn", ""), att: col("att", 1), to: col("to", 0), id: col("id", ""), input };
  });
}

/** Splits a WorkerResults message into [{ seq, st, value }] (values decoded). */
export function resultsOf({ h, body }) {
  let offset = 0;
  return h.seq.map((seq, i) => {
    const st = Array.isArray(h.st) ? h.st[i] : h.st;
    const value = decode(body.subarray(offset, offset + h.len[i]));
    offset += h.len[i];
    return { seq, st, value };
  });
}

/** One WorkerResults (or Tasks) body and its len column from values. */
export function bodyOf(values) {
  const parts = values.map((v) => Buffer.from(encode(v)));
  return { len: parts.map((p) => p.length), body: Buffer.concat(parts) };
}
