// Simulates a slow lookup: waits `ms`, then answers.
export default async function lookup({ user, ms }) {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { user, score: user.length * 10, tookMs: ms };
}

export function shout(text) {
  return String(text).toUpperCase();
}

// Runs after the lookups it depends on (send's `after`); gets nothing from them but the guarantee
// that they succeeded first.
export function report(title) {
  return `${title}: written at ${new Date().toISOString()}`;
}
