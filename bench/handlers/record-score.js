// W7, real handler: a lexicon sentiment score of a review record's text, a few microseconds of
// work per record (split into words, look each up, weigh by the stars). Returns a number: the
// score with the record's id folded in, so the caller checks every record came back once.
const LEXICON = new Map(Object.entries({
  good: 2, great: 3, excellent: 4, love: 3, perfect: 4, works: 1, fine: 1, happy: 3, recommend: 2, fast: 2, sturdy: 2,
  bad: -2, poor: -2, terrible: -4, hate: -3, broken: -3, slow: -2, flimsy: -2, refund: -2, disappointed: -3, awful: -4, never: -1,
}));

/** The record's score: -1..1 from its words, nudged by its stars. */
export function score(record) {
  let sum = 0;
  let words = 0;
  for (const word of record.text.toLowerCase().split(" ")) {
    if (word.length === 0) continue;
    words++;
    sum += LEXICON.get(word) ?? 0;
  }
  const fromText = words === 0 ? 0 : Math.max(-1, Math.min(1, sum / words));
  return Math.round((fromText * 0.8 + ((record.stars - 3) / 2) * 0.2) * 1000) / 1000;
}

/**
 * The id and the score in one number: id * 4096 + score scaled to 0..2000. Numbers (the harness's
 * first call and warm-up) come back as they are.
 */
export default function recordScore(record) {
  if (typeof record === "number") return record;
  return record.id * 4096 + Math.round((score(record) + 1) * 1000);
}
