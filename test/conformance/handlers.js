// The conformance suite's handlers for `zerolb worker` (handlers.py is the same for Python): what
// each does is what test/conformance/suite.js expects of it.
let setupCalls = 0;
let workerData;

export function setup({ workerData: data }) {
  setupCalls++;
  workerData = data;
  if (data?.setupThrows) throw new Error("setup failed on purpose");
}

/** The default handler: the input back. */
export default function echo(data) {
  return data;
}

export function sleep(data) {
  process.stderr.write(`conformance: sleeping ${data.ms} ms\n`);
  return new Promise((resolve) => setTimeout(() => resolve(data.ms), data.ms));
}

/** Ends when the task is cancelled (or after 30 s). */
export function wait(data, ctx) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("not cancelled"), 30_000);
    ctx.signal.addEventListener("abort", () => (clearTimeout(timer), resolve("cancelled")), { once: true });
  });
}

export function fail() {
  throw new Error("boom");
}

export const unencodable = () => ({ f: () => 1 });
export const getWorkerData = () => workerData;
export const setupCount = () => setupCalls;
