// zerolb: a LoadBalancer with a broker process and `workers` worker processes.
// ZEROLB_DIST=/path/to/dist benchmarks another build (default: ../../dist, i.e. `npm run build`).
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const dist = process.env.ZEROLB_DIST
  ? pathToFileURL(`${process.env.ZEROLB_DIST.replace(/\/$/, "")}/index.js`)
  : new URL("../../dist/index.js", import.meta.url);
const { LoadBalancer } = await import(dist.href);

export const name = "zerolb";
export const version = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version;

export function create({ handler, workers, concurrency }) {
  const lb = new LoadBalancer({ worker: pathToFileURL(handler), workers, concurrency });
  return {
    ready: lb.ready,
    async call(item) {
      await lb.send(item);
      const r = await lb.receive();
      if (!r.ok) throw r.error;
      return r.value;
    },
    async stream(items, { ordered = true } = {}) {
      let count = 0;
      let sum = 0;
      for await (const value of lb.map(items, { ordered })) {
        count++;
        sum += typeof value === "number" ? value : value.byteLength;
      }
      return { count, sum };
    },
    async warm() {
      // `ready` means one worker is up; wait until the broker has seen all of them run tasks.
      const deadline = Date.now() + 30_000;
      const batch = Array.from({ length: workers * concurrency * 4 }, (_, i) => i);
      do await this.stream(batch, { ordered: false });
      while (lb.stats().workers.filter((w) => w.done > 0).length < workers && Date.now() < deadline);
    },
    processes() {
      const { broker, workers: pids } = lb.pids;
      return [...(broker === undefined ? [] : [{ role: "broker", pid: broker }]), ...pids.map((pid) => ({ role: "workers", pid }))];
    },
    info() {
      const s = lb.stats();
      return { workers: s.workers.map((w) => ({ pid: w.pid, done: w.done })), retried: s.retried, workerRestarts: s.workerRestarts };
    },
    close: () => lb.close(),
    forceClose: () => lb.close({ force: true }),
  };
}
