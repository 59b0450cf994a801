import t from "tap";
import { LoadBalancer } from "../dist/index.js";
import { alive, collect, createLb, fixture, ipcDirsLeft, range } from "./helpers.js";

t.test(".map() - results in input order", async (t) => {
  const lb = createLb(t);
  await lb.ready;
  t.same(await collect(lb.map(range(1000))), range(1000, (i) => i * 2));
});

t.test(".close() - leaves no child process and no ipc file", async (t) => {
  const lb = new LoadBalancer({ worker: fixture("ops.js"), workers: 2 });
  await lb.ready;
  const { broker, workers } = lb.pids;
  t.equal(workers.length, 2);
  t.same(await collect(lb.map([1, 2, 3])), [2, 4, 6]);
  await lb.close();
  t.notOk(alive(broker), "broker gone");
  for (const pid of workers) t.notOk(alive(pid), `worker ${pid} gone`);
  t.same(ipcDirsLeft(), []);
});
