// The handler module the fleet's workers run (the same file on the caller's machine, if it has
// local workers too). Replace with yours.
export function setup({ workerData }) {
  // Load a model, open a connection...: once per worker process. If this throws, the worker tells
  // the broker (stats().failedSetups) and exits 1.
  void workerData;
}

export default function handle(item) {
  return { item, host: process.env.HOSTNAME ?? "" };
}
