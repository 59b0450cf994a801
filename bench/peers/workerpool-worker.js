// The worker script of the workerpool peer (./workerpool.js): imports the handler module named by
// argv[2] and registers its default export as the method "run".
//
// workerpool's process mode forks this script and talks to it over child_process IPC with Node's
// default "json" serialization, so a Buffer arrives as { type: "Buffer", data: [byte, ...] }
// (Buffer#toJSON). It is turned back into a Buffer here, so the handler gets what it would get
// from any other peer; the result Buffer is serialized the same way on its way back and revived by
// the caller. That round trip through JSON is workerpool's own cost (see ./README.md).
import { pathToFileURL } from "node:url";
import workerpool from "workerpool";

const { default: fn } = await import(pathToFileURL(process.argv[2]).href);

const isJsonBuffer = (x) => x !== null && typeof x === "object" && x.type === "Buffer" && Array.isArray(x.data);

workerpool.worker({
  run: (data) => fn(isJsonBuffer(data) ? Buffer.from(data.data) : data),
});
