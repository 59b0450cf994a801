// Task ids (docs/semantics.md, docs/pipelines.md): the ids of the last `idMemory` finished send()
// tasks are remembered, chosen and generated alike, so a known id is neither run nor reported
// twice, and one that fell out of it is an unknown dependency; pending ids are never forgotten.
import { writeFileSync } from "node:fs";
import t from "tap";
import { DependencyError } from "../dist/index.js";
import { createLb, lineCount, range, sharedLb, tmpPath, within } from "./helpers.js";

const log = tmpPath(t, "runs");
// Tasks here leave nothing behind: each test receives every result it sends.
const smallMemory = sharedLb(t, { workers: 1, idMemory: 3, workerData: { log } });

/** send() then receive(): the result, which must be this task's. */
async function run(t, lb, data, options) {
  const id = await lb.send(data, options);
  const r = await within(lb.receive(), 60_000, `the result of ${id}`);
  t.equal(r.id, id, `the next result is task ${id}'s`);
  return r;
}

t.test("idMemory - a caller-chosen id within the last idMemory is not run again; one that fell out is an unknown dependency", async (t) => {
  const lb = smallMemory();
  for (const id of ["a", "b", "c", "d"]) await run(t, lb, 1, { id });
  const runs = lineCount(log);
  // The last three ids (b, c, d) are remembered.
  t.equal(await lb.send(1, { id: "d" }), "d", "sending a remembered id again resolves to it");
  t.equal(await lb.send(1, { id: "b" }), "b");
  // Had either run again, its result would come before this one's (run() checks the id).
  t.equal((await run(t, lb, 6)).value, 12);
  t.equal(lineCount(log), runs + 1, "neither ran again");
  // "a" fell out of the window: naming it in `after` is a clear error, never a hang.
  await t.rejects(lb.send(1, { after: ["a"] }), {
    name: "TypeError",
    code: "ERR_ZEROLB_INVALID_OPTION",
    message: /unknown task id "a" \(never sent with send\(\), or finished before the last 3 sent tasks: raise idMemory\)/,
  });
  // A remembered one still counts as done.
  t.equal((await run(t, lb, 4, { after: ["d"] })).value, 8, "a task after a remembered id runs");
});

t.test("send({ after }) - generated ids are remembered as chosen ones are: the last idMemory finished, failed ones too", async (t) => {
  const lb = smallMemory();
  const first = (await run(t, lb, 5)).id;
  t.match(first, /^\d+$/, "a generated id");
  const failed = (await run(t, lb, { op: "throw" })).id;
  const after = await run(t, lb, 7, { after: [first] });
  t.same([after.ok, after.value], [true, 14], "a task after a remembered generated id that succeeded runs");
  const dependent = await run(t, lb, 1, { after: [failed] });
  t.equal(dependent.ok, false, "a task after a failed generated id does not run");
  t.ok(dependent.error instanceof DependencyError, "it fails with a DependencyError");
  for (const i of range(3)) await run(t, lb, i);
  await t.rejects(
    lb.send(1, { after: [first] }),
    { name: "TypeError", code: "ERR_ZEROLB_INVALID_OPTION", message: new RegExp(`unknown task id "${first}"`) },
    "a generated id that fell out of the memory is a clear error, never a hang",
  );
  await t.rejects(lb.send(1, { after: ["999999"] }), { name: "TypeError", message: /unknown task id "999999"/ }, "a generated-looking id never issued is unknown");
});

t.test("send({ after }) - a generated id still running holds its dependent back until it succeeds", async (t) => {
  const lb = smallMemory();
  const gate = tmpPath(t, "gate");
  const parent = await lb.send({ op: "until", path: gate, value: "parent" });
  const child = await lb.send(21, { after: [parent] });
  writeFileSync(gate, "");
  const got = [await within(lb.receive(), 60_000, "the first result"), await within(lb.receive(), 60_000, "the second result")];
  t.same(got.map((r) => r.id), [parent, child], "the parent first, then its dependent");
  t.same(got.map((r) => r.value), ["parent", 42]);
});

t.test(
  "idMemory - an id still outstanding is never forgotten: sent again, it does not run twice",
  async (t) => {
    const runsLog = tmpPath(t, "runs");
    const gate = tmpPath(t, "gate");
    const lb = createLb(t, { workers: 1, concurrency: 2, idMemory: 2, workerData: { log: runsLog } });
    await lb.ready;
    await lb.send({ op: "until", path: gate, value: "p" }, { id: "p" });
    for (const id of ["x", "y", "z"]) await run(t, lb, 1, { id }); // three newer ids than the memory holds
    t.equal(await lb.send({ op: "until", path: gate, value: "p again" }, { id: "p" }), "p");
    writeFileSync(gate, "");
    t.same(await within(lb.receive(), 60_000, "p's result"), { id: "p", ok: true, value: "p" });
    t.equal((await run(t, lb, 2, { id: "q" })).value, 4, "the next result is another task's, not a second p");
    const pRuns = lineCount(runsLog) - 4; // x, y, z and q ran once each
    t.equal(pRuns, 1, "p ran once");
  },
);

t.test(
  "ids - a task that failed its dependency is remembered: sent again it yields nothing, and `after` on it is a DependencyError",
  async (t) => {
    const lb = createLb(t, { workers: 1 });
    await lb.ready;
    await run(t, lb, { op: "throw" }, { id: "f" });
    const g = await run(t, lb, 1, { id: "g", after: ["f"] });
    t.ok(g.error instanceof DependencyError, "g did not run");
    t.equal(await lb.send(1, { id: "g", after: ["f"] }), "g", "sending g again resolves to its id");
    t.equal((await run(t, lb, 3, { id: "next" })).value, 6, "and yields no second result");
    const h = await lb.send(1, { id: "h", after: ["g"] }).then(
      async (id) => ({ id, r: await within(lb.receive(), 60_000, "h's result") }),
      (err) => ({ err }),
    );
    t.notOk(h.err, `after: ["g"] is accepted (${h.err?.message})`);
    t.ok(h.r?.error instanceof DependencyError, "and fails with a DependencyError");
  },
);
