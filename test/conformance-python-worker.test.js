// The worker conformance suite (test/conformance/suite.js) against the Python example
// (examples/python-worker/worker.py), when python3 with pyzmq and msgpack is here.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import t from "tap";
import { conformance } from "./conformance/suite.js";
import { spawnWatched } from "./remote-helpers.js";

const worker = fileURLToPath(new URL("../examples/python-worker/worker.py", import.meta.url));
const handlers = fileURLToPath(new URL("./conformance/handlers.py", import.meta.url));
// The first Python with both modules: $PYTHON, then Debian's (where apt-get puts them), then PATH's.
const candidates = [process.env.PYTHON, "/usr/bin/python3", "python3"].filter(Boolean);
const probes = candidates.map((python) => ({ python, result: spawnSync(python, ["-c", "import zmq, msgpack"], { encoding: "utf8" }) }));
const found = probes.find((p) => p.result.status === 0);
const python = found?.python ?? candidates.at(-1);
const probe = found?.result ?? probes.at(-1).result;

if (probe.status !== 0) {
  t.skip(`the Python worker's conformance: ${python} with pyzmq and msgpack is not available (apt-get install python3-zmq python3-msgpack, or pip install pyzmq msgpack): ${(probe.stderr || probe.error?.message || "").trim().split("\n").pop()}`);
} else {
  conformance(t, {
    name: "python worker",
    start(t, endpoint, args) {
      const { child, exited, stderr } = spawnWatched(t, python, [worker, handlers, "--connect", endpoint, ...args]);
      return { pid: child.pid, exited, stderr };
    },
  });
}
