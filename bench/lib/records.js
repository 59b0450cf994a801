// W7's records: n deterministic product reviews, the shape users score with a model. Five fields,
// about 230 bytes as MessagePack (a ~200-character text), the same every run and for every peer
// (a fixed-seed generator), built before the clock starts so the pool's cost is what is timed.

const WORDS = (
  "the a this it was is and but very really quite product quality shipping box arrived price value " +
  "good great excellent love perfect works fine happy recommend fast sturdy " +
  "bad poor terrible hate broken slow flimsy refund disappointed awful never again"
).split(" ");

/** A 32-bit linear congruential generator: the same sequence for the same seed, everywhere. */
function lcg(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** One record: { id, user, stars, date, text }. `id` is its index, so results can be checked. */
function record(i, rnd) {
  let text = "";
  while (text.length < 200) text += `${WORDS[Math.floor(rnd() * WORDS.length)]} `;
  return {
    id: i,
    user: `user-${Math.floor(rnd() * 100_000).toString(36)}`,
    stars: 1 + Math.floor(rnd() * 5),
    date: `2026-${String(1 + Math.floor(rnd() * 12)).padStart(2, "0")}-${String(1 + Math.floor(rnd() * 28)).padStart(2, "0")}`,
    text: text.slice(0, 200),
  };
}

/** n records in an array (the whole input, built once). */
export function makeRecords(n, seed = 7) {
  const rnd = lcg(seed);
  return Array.from({ length: n }, (_, i) => record(i, rnd));
}
