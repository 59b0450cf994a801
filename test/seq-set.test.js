// SeqSet: the set of finished seqs that stays small on endless streams.
import t from "tap";
import { SeqSet } from "../dist/seq-set.js";

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
