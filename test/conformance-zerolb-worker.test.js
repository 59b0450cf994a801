// The worker conformance suite (test/conformance/suite.js) against `zerolb worker`.
import { fileURLToPath } from "node:url";
import t from "tap";
import { conformance } from "./conformance/suite.js";
import { CLI, spawnWatched } from "./remote-helpers.js";

const handlers = fileURLToPath(new URL("./conformance/handlers.js", import.meta.url));

conformance(t, {
  name: "zerolb worker",
  start(t, endpoint, args) {
    const { child, exited, stderr } = spawnWatched(t, process.execPath, [CLI, "worker", handlers, "--connect", endpoint, "--heartbeat-interval", "250", ...args]);
    return { pid: child.pid, exited, stderr };
  },
});
