// Simulates a slow lookup: waits `ms`, then answers.
export default async function lookup({ user, ms }) {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { user, score: user.length * 10, tookMs: ms };
}

export function shout(text) {
  return String(text).toUpperCase();
}
