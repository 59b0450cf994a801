// The in-process control: the same handler module called directly in this process, by
// `workers * concurrency` lanes that pull from one shared iterator. No IPC, no serialization: the
// floor any pool can approach. A sync handler's result is used as is (no await per task).
import { pathToFileURL } from "node:url";

export const name = "control";
export const version = process.version;

export function create({ handler, workers, concurrency }) {
  const lanes = workers * concurrency;
  let fn;
  const ctx = { id: "", attempt: 1, workerData: null, signal: new AbortController().signal };
  const ready = import(pathToFileURL(handler).href).then((ns) => {
    fn = ns.default;
  });
  const isThenable = (x) => x !== null && typeof x === "object" && typeof x.then === "function";
  return {
    ready,
    async call(item) {
      const out = fn(item, ctx);
      return isThenable(out) ? await out : out;
    },
    async stream(items) {
      const it = items[Symbol.iterator]();
      let count = 0;
      let sum = 0;
      const lane = async () => {
        for (let r = it.next(); !r.done; r = it.next()) {
          let out = fn(r.value, ctx);
          if (isThenable(out)) out = await out;
          count++;
          sum += out;
        }
      };
      await Promise.all(Array.from({ length: lanes }, lane));
      return { count, sum };
    },
    async warm() {},
    processes: () => [],
    info: () => ({ lanes }),
    close: async () => {},
    forceClose: async () => {},
  };
}
