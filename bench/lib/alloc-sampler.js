// Loaded into the broker and worker processes by bench/alloc.js (node --import, through
// ZEROLB_CHILD_FLAGS): samples every allocation, including objects the GC has collected since,
// and at exit writes the bytes allocated by each function to $ZEROLB_ALLOC_DIR/<role>-<pid>.json.
import { Session } from "node:inspector";
import { writeFileSync } from "node:fs";

const dir = process.env.ZEROLB_ALLOC_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("HeapProfiler.enable");
  session.post("HeapProfiler.startSampling", {
    samplingInterval: Number(process.env.ZEROLB_ALLOC_INTERVAL ?? 512),
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const args = process.argv.slice(1).join(" ");
  const role = /broker/.test(args) ? "broker" : /worker/.test(args) ? "worker" : "other";
  process.on("exit", () => {
    // A same-thread inspector session answers synchronously: this runs before the process ends.
    session.post("HeapProfiler.stopSampling", (err, result) => {
      if (!err) writeFileSync(`${dir}/${role}-${process.pid}.json`, JSON.stringify(bySite(result.profile)));
    });
  });
}

/** Bytes allocated per function and line: { "name file:line": bytes }. */
export function bySite(profile) {
  const out = {};
  (function walk(node) {
    if (node.selfSize > 0) {
      const f = node.callFrame;
      const site = `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`;
      out[site] = (out[site] ?? 0) + node.selfSize;
    }
    for (const child of node.children) walk(child);
  })(profile.head);
  return out;
}
