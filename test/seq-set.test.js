// SeqSet: the set of finished seqs that stays small on endless streams.
import t from "tap";
import { SeqSet } from "../dist/shared/seq-set.js";

t.test("SeqSet - seqs added in order only move the watermark", async (t) => {
  const s = new SeqSet();
  t.equal(s.watermark, 0);
  t.notOk(s.has(0));
  for (let i = 0; i < 10_000; i++) s.add(i);
  t.equal(s.watermark, 10_000);
  t.equal(s.exceptions, 0, "nothing stored one by one");
  t.ok(s.has(0) && s.has(9_999));
  t.notOk(s.has(10_000));
  s.add(5);
  t.equal(s.watermark, 10_000, "adding a seq below the watermark changes nothing");
});

t.test("SeqSet - out-of-order seqs are exceptions until the gap fills", async (t) => {
  const s = new SeqSet();
  s.add(1);
  s.add(2);
  s.add(4);
  t.equal(s.watermark, 0);
  t.equal(s.exceptions, 3);
  t.ok(s.has(1) && s.has(2) && s.has(4));
  t.notOk(s.has(0) || s.has(3));
  s.add(0);
  t.equal(s.watermark, 3, "0 fills the gap: 0, 1, 2 fold into the watermark");
  t.equal(s.exceptions, 1);
  s.add(3);
  t.equal(s.watermark, 5);
  t.equal(s.exceptions, 0);
  s.add(4);
  t.equal(s.exceptions, 0, "adding twice stores nothing");
});

t.test("SeqSet - exceptions stay bounded by the reordering window", async (t) => {
  // Seqs finish in shuffled windows of 64 (like tasks in flight finishing out of order).
  let state = 42;
  const random = (n) => ((state = (state * 1103515245 + 12345) % 2 ** 31) % n);
  const s = new SeqSet();
  const window = 64;
  let maxExceptions = 0;
  for (let base = 0; base < 100_000; base += window) {
    const batch = Array.from({ length: window }, (_, i) => base + i);
    for (let i = batch.length - 1; i > 0; i--) {
      const j = random(i + 1);
      [batch[i], batch[j]] = [batch[j], batch[i]];
    }
    for (const seq of batch) {
      s.add(seq);
      maxExceptions = Math.max(maxExceptions, s.exceptions);
    }
  }
  t.equal(s.watermark, 100_032);
  t.equal(s.exceptions, 0);
  t.ok(maxExceptions < window, `at most ${maxExceptions} stored at once over 100k seqs`);
  t.ok(s.has(77_777));
  t.notOk(s.has(100_032));
});

t.test("SeqSet - a set that starts at a base holds nothing below it", async (t) => {
  const base = 2 ** 48;
  const s = new SeqSet(base);
  t.equal(s.watermark, base);
  t.notOk(s.has(0), "seqs below the start are absent");
  t.notOk(s.has(base));
  s.add(base);
  s.add(base + 2);
  t.ok(s.has(base));
  t.notOk(s.has(base + 1));
  t.ok(s.has(base + 2));
  t.notOk(s.has(5));
});

t.test("SeqSet - a seq far ahead of the watermark widens the ring and keeps what was stored", async (t) => {
  const s = new SeqSet();
  for (const seq of [1, 5, 8_000, 100_000]) s.add(seq);
  t.equal(s.exceptions, 4);
  t.ok(s.has(1) && s.has(5) && s.has(8_000) && s.has(100_000));
  t.notOk(s.has(2) || s.has(7_999) || s.has(99_999) || s.has(100_001) || s.has(100_000 + 8_192));
  s.add(0);
  t.equal(s.watermark, 2, "0 folds 1 in; 2 is missing");
  for (let seq = 2; seq < 100_000; seq++) s.add(seq);
  t.equal(s.watermark, 100_001);
  t.equal(s.exceptions, 0);
});

t.test("SeqSet - seqs beyond the widest ring (one task stuck while a million finish) are kept apart and still fold in", async (t) => {
  const s = new SeqSet();
  const last = 2 ** 20 + 100;
  for (let seq = 1; seq <= last; seq++) s.add(seq);
  t.equal(s.watermark, 0, "seq 0 is still running");
  t.equal(s.exceptions, last);
  t.ok(s.has(1) && s.has(2 ** 20 - 1) && s.has(2 ** 20) && s.has(last));
  t.notOk(s.has(0) || s.has(last + 1));
  s.add(0);
  t.equal(s.watermark, last + 1, "every stored seq, in the ring or kept apart, folded into the watermark");
  t.equal(s.exceptions, 0);
  t.ok(s.has(last) && !s.has(last + 1));
});

t.test("SeqSet - seqs that finish in a moving window of 5,000 stay exact (ring wraps many times)", async (t) => {
  // Two interleaved streams of seqs, as two workers return them, against a plain Set.
  let state = 7;
  const random = (n) => ((state = (state * 1103515245 + 12345) % 2 ** 31) % n);
  const s = new SeqSet();
  const plain = new Set();
  const pending = [];
  let next = 0;
  for (let step = 0; step < 200_000; step++) {
    while (pending.length < 5_000) pending.push(next++);
    const seq = pending.splice(random(pending.length), 1)[0];
    s.add(seq);
    plain.add(seq);
    if (step % 997 === 0) {
      for (let probe = Math.max(0, seq - 6_000); probe < seq + 6_000; probe += 13) {
        if (s.has(probe) !== plain.has(probe)) return t.fail(`has(${probe}) is ${s.has(probe)}, a Set says ${plain.has(probe)}`);
      }
    }
  }
  t.equal(s.exceptions, plain.size - s.watermark, "stores exactly the finished seqs above the watermark");
  t.ok(s.watermark > 150_000, `the watermark followed (${s.watermark})`);
  t.pass("has() agreed with a Set on every probe");
});
