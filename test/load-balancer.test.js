// The LoadBalancer end to end: its processes run on the caller's Node, a map comes back in order,
// and close() leaves nothing behind.
import t from "tap";
import { LoadBalancer } from "../dist/index.js";
import { alive, collect, createLb, fixture, ipcDirsLeft, range } from "./helpers.js";

t.test("Node - the broker and workers run on the caller's Node", async (t) => {
  t.comment(`Node ${process.version} (${process.execPath})`);
  const lb = createLb(t, { workers: 2 });
  const infos = await collect(lb.map(range(8, () => ({ op: "info" }))));
  t.same([...new Set(infos.map((i) => i.node))], [process.version], `workers report ${process.version}`);
  t.same(await collect(lb.map(range(1000))), range(1000, (i) => i * 2), "and a map runs, in input order");
});

t.test(".close() - leaves no child process and no ipc file", async (t) => {
  const lb = new LoadBalancer({ worker: fixture("ops.js"), workers: 2 });
  await lb.ready;
  const { broker, workers } = lb.pids;
  t.equal(workers.length, 2);
  t.equal(lb.endpoint, undefined, "no remote endpoint without the option");
  t.same(await collect(lb.map([1, 2, 3])), [2, 4, 6]);
  await lb.close();
  t.notOk(alive(broker), "broker gone");
  for (const pid of workers) t.notOk(alive(pid), `worker ${pid} gone`);
  t.same(ipcDirsLeft(), []);
});
