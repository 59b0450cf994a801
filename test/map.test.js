// lb.map(): order, completion order, settled rows, failures, laziness, and the kinds of input it takes.
import { Readable } from "node:stream";
import t from "tap";
import { TaskError } from "../dist/index.js";
import { collect, createLb, range, sharedLb, within } from "./helpers.js";

const sleep = (ms, value = ms) => ({ op: "sleep", ms, value });

// LoadBalancers shared by the tests below that leave nothing running.
const oneWorkerFour = sharedLb(t, { workers: 1, concurrency: 4 });
const twoWorkers = sharedLb(t, { workers: 2 });
const window8 = sharedLb(t, { highWaterMark: 8 });

t.test(".map() - results in input order even when later items finish first", async (t) => {
  const lb = oneWorkerFour();
  // All four run at once on the one worker; the last finishes first.
  t.same(await collect(lb.map([sleep(300, "a"), sleep(200, "b"), sleep(100, "c"), sleep(5, "d")])), ["a", "b", "c", "d"]);
});

t.test(".map() - ordered: false yields in completion order", async (t) => {
  const lb = oneWorkerFour();
  const out = await collect(lb.map([sleep(300, "a"), sleep(200, "b"), sleep(100, "c"), sleep(5, "d")], { ordered: false }));
  t.same(out, ["d", "c", "b", "a"]);
});

t.test(".map() - ordered: false yields every item once", async (t) => {
  const lb = twoWorkers();
  const out = await collect(lb.map(range(500), { ordered: false }));
  t.same(out.sort((a, b) => a - b), range(500, (i) => i * 2));
});

t.test(".map() - settled: true yields {index, id, ok, value|error} rows and goes on after a failure", async (t) => {
  const lb = twoWorkers();
  const rows = await collect(lb.map([1, { op: "throw", message: "second fails" }, 3, { op: "reject" }, 5], { settled: true }));
  t.equal(rows.length, 5);
  t.same(rows.map((r) => r.index), [0, 1, 2, 3, 4]);
  t.same(rows.map((r) => r.ok), [true, false, true, false, true]);
  t.same([rows[0].value, rows[2].value, rows[4].value], [2, 6, 10]);
  for (const r of rows) {
    t.type(r.id, "string");
    t.ok(r.id.length > 0, "row has an id");
    if (r.ok) t.notOk("error" in r, "ok row has no error");
    else t.notOk("value" in r, "failed row has no value");
  }
  t.equal(new Set(rows.map((r) => r.id)).size, 5, "ids are distinct");
  const err = rows[1].error;
  t.ok(err instanceof TaskError, "error is a TaskError");
  t.equal(err.code, "ERR_ZEROLB_TASK_FAILED");
  t.match(err.message, /second fails/);
  t.equal(err.index, 1);
  t.equal(err.id, rows[1].id);
  t.equal(err.cause.code, "E_BOOM");
  t.ok(rows[3].error instanceof TaskError, "a rejected promise is a TaskError too");
  t.match(rows[3].error.cause.message, "rejected");
});

t.test(".map() - a failing task makes the iterator throw a TaskError with the worker error as cause", async (t) => {
  const lb = twoWorkers();
  const seen = [];
  let caught;
  try {
    for await (const v of lb.map([1, 2, { op: "throw", message: "kaput" }, 4, 5])) seen.push(v);
  } catch (err) {
    caught = err;
  }
  t.same(seen, [2, 4], "results before the failure are yielded");
  t.ok(caught instanceof TaskError, "a TaskError");
  t.equal(caught.code, "ERR_ZEROLB_TASK_FAILED");
  t.match(caught.message, /kaput/);
  t.equal(caught.index, 2);
  t.type(caught.id, "string");
  t.ok(caught.id.length > 0);
  const cause = caught.cause;
  t.ok(cause instanceof Error, "cause is an Error");
  t.equal(cause.name, "RangeError");
  t.equal(cause.message, "kaput");
  t.equal(cause.code, "E_BOOM");
  t.equal(cause.detail, 42, "own fields of the worker error travel too");
  t.match(cause.stack, /RangeError: kaput/);
  t.match(cause.stack, /fixtures[/\\]ops\.js/, "the stack is the worker's");
});

t.test(".map() - the iterator is finished after it threw", async (t) => {
  const lb = twoWorkers();
  const it = lb.map([{ op: "throw" }, 2, 3]);
  await t.rejects(it.next(), TaskError);
  // Like a generator that threw: later calls report the end instead of throwing again.
  const after = await it.next().then((r) => r, (err) => err);
  t.same(after, { done: true, value: undefined }, "next() after the throw is { done: true }");
  // The LoadBalancer itself goes on.
  t.same(await collect(lb.map([7])), [14]);
});

t.test(".map() - stops pulling while the unfinished tasks' inputs pass highWaterMarkBytes; a larger input goes alone", async (t) => {
  // ~1 KB inputs, a 3,000-byte budget: three unfinished tasks fill it (the count limit, 4096, never does).
  const lb = createLb(t, { workers: 1, highWaterMarkBytes: 3000 });
  const kb = "x".repeat(1000);
  let pulled = 0;
  function* source() {
    for (let i = 0; i < 10; i++) {
      pulled++;
      yield sleep(50, `${i}${i === 9 ? kb.repeat(5) : kb}`);
    }
  }
  const it = lb.map(source());
  const first = await it.next();
  t.equal(first.value.length, 1001);
  t.ok(pulled <= 4, `three inputs were out when the first outcome came, and one more refilled (pulled ${pulled} of 10)`);
  const rest = await collect(it);
  t.equal(rest.length, 9);
  t.equal(rest.at(-1).length, 5001, "the 5,000-byte input, over the whole budget, went alone");
});

t.test(".map() - results held back behind a slow task count towards highWaterMarkBytes: it stops pulling", async (t) => {
  // Item 0 sleeps on one slot while the other slot turns small inputs into ~1 KB results, which
  // wait behind it (ordered). 8,000 bytes hold about seven of them; counting inputs only, the map
  // would pull thousands (its count limit is 4,096) in the 300 ms item 0 takes.
  const lb = createLb(t, { workers: 1, concurrency: 2, highWaterMarkBytes: 8000 });
  let pulled = 0;
  function* source() {
    for (let i = 0; ; i++) {
      pulled++;
      yield i === 0 ? sleep(300, "slow") : { op: "repeat", text: "x", times: 1000 };
    }
  }
  const it = lb.map(source());
  const first = await it.next();
  t.equal(first.value, "slow");
  // 8,000 bytes hold at most eight 1 KB results, and each outcome lets at most two more items out
  // (its own place and one more of slow start's window): the first 64 and at most 16 more.
  t.ok(pulled <= 64 + 2 * 8, `the first window (64) and little more were pulled while results waited (pulled ${pulled})`);
  const next = [];
  for (let i = 0; i < 200; i++) next.push((await it.next()).value);
  t.ok(next.every((v) => v.length === 1000), "the held results come out, and the map goes on");
  await it.return();
});

for (const [options, first] of [[{ workers: 1 }, 64], [{ workers: 1, concurrency: 50 }, 100]]) {
  t.test(`.map() - starts with ${first} tasks out (${JSON.stringify(options)}), and each outcome lets one more out (slow start)`, async (t) => {
    // The window starts at max(64, 2 × workers × concurrency) and grows towards highWaterMark (4096)
    // by one per outcome. Items 0-9 come back; every later one hangs, so only ten outcomes arrive.
    const lb = createLb(t, options);
    let pulled = 0;
    function* source() {
      for (let i = 0; ; i++) {
        pulled++;
        yield i < 10 ? i : { op: "hang" };
      }
    }
    const it = lb.map(source(), { ordered: false });
    const firstTen = [];
    for (let i = 0; i < 10; i++) firstTen.push((await it.next()).value);
    t.same(firstTen.sort((a, b) => a - b), range(10, (i) => i * 2));
    t.equal(pulled, first + 2 * 10, `${first} out at first; each of the ten outcomes freed its place and added one (not a whole 4,096 window at once)`);
    await it.return();
  });
}

for (const kind of ["sync", "async"]) {
  t.test(`.map() - pulls an endless ${kind} generator at most highWaterMark items ahead of the consumer`, async (t) => {
    const highWaterMark = 8;
    const lb = window8();
    let pulled = 0;
    let consumed = 0;
    let maxAhead = 0;
    let closed = false;
    function* syncSource() {
      try {
        for (let i = 0; ; i++) {
          pulled++;
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    async function* asyncSource() {
      yield* syncSource();
    }
    const it = lb.map(kind === "sync" ? syncSource() : asyncSource());
    for (let step = 0; step < 60; step++) {
      const r = await it.next();
      t.equal(r.value, step * 2);
      consumed++;
      const ahead = pulled - consumed;
      maxAhead = Math.max(maxAhead, ahead);
      if (ahead > highWaterMark) t.fail(`pulled ${pulled} items with ${consumed} consumed`);
      // A slow consumer: give the map every chance to read further ahead.
      await new Promise((resolve) => setTimeout(resolve, 3));
      const later = pulled - consumed;
      maxAhead = Math.max(maxAhead, later);
      if (later > highWaterMark) t.fail(`pulled ${pulled} items with ${consumed} consumed, after a pause`);
    }
    t.ok(maxAhead <= highWaterMark, `never more than ${highWaterMark} ahead (max ${maxAhead})`);
    t.ok(maxAhead >= 1, "it does read ahead");
    await it.return();
    t.ok(closed, "the generator was closed (its finally ran) when the map was left");
  });
}

t.test(".map() - takes a Node Readable (object mode) as input", async (t) => {
  const lb = window8();
  t.same(await collect(lb.map(Readable.from(range(300)))), range(300, (i) => i * 2));
  t.same(await collect(lb.map(Readable.from([{ op: "echo", n: 1 }, "text", [1, 2]]))), [{ op: "echo", n: 1 }, "text", [1, 2]]);
});

t.test(".map() - takes an async generator as input", async (t) => {
  const lb = window8();
  async function* source() {
    for (let i = 0; i < 50; i++) {
      if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
      yield i;
    }
  }
  t.same(await collect(lb.map(source())), range(50, (i) => i * 2));
});

t.test(".map() - an error thrown by a sync source ends the map with that error", async (t) => {
  const lb = twoWorkers();
  await lb.ready; // the time limit below is for the map, not for start-up under load
  const boom = new Error("source broke");
  function* source() {
    yield 1;
    yield 2;
    throw boom;
  }
  const seen = [];
  const run = (async () => {
    for await (const v of lb.map(source())) seen.push(v);
  })();
  await t.rejects(within(run, 30_000, "a map whose sync source throws"), boom);
  t.ok(seen.length <= 2, "no result invented");
});

t.test(".map() - an error thrown by an async source ends the map with that error", async (t) => {
  const lb = twoWorkers();
  await lb.ready; // the time limit below is for the map, not for start-up under load
  const boom = new Error("async source broke");
  async function* source() {
    yield 1;
    yield 2;
    throw boom;
  }
  const run = (async () => {
    for await (const v of lb.map(source())) void v;
  })();
  await t.rejects(within(run, 30_000, "a map whose async source throws"), boom);
});

t.test(".map() - an empty input ends at once", async (t) => {
  const lb = twoWorkers();
  await lb.ready;
  const cases = { "map([])": [], "map(empty generator)": (function* () {})(), "map(empty async generator)": (async function* () {})() };
  for (const [what, items] of Object.entries(cases)) {
    await within(collect(lb.map(items)), 30_000, what).then((out) => t.same(out, [], what), (err) => t.fail(err.message));
  }
});

t.test(".map() - values of every MessagePack type travel both ways", async (t) => {
  const lb = twoWorkers();
  const values = [0, -1.5, 2 ** 40, "ünïcødé", true, false, null, 9007199254740993n, -5n, new Date(1_700_000_000_123), new Uint8Array([0, 1, 255]), [1, [2, [3]]], { a: { b: [null, "x"] } }];
  const out = await collect(lb.map(values.map((v) => ({ op: "echo", v }))));
  t.same(out.map((r) => r.v), [0, -1.5, 2 ** 40, "ünïcødé", true, false, null, 9007199254740993n, -5n, new Date(1_700_000_000_123), new Uint8Array([0, 1, 255]), [1, [2, [3]]], { a: { b: [null, "x"] } }]);
  t.type(out[7].v, "bigint");
  t.ok(out[9].v instanceof Date, "a Date comes back as a Date");
  t.ok(out[10].v instanceof Uint8Array, "bytes come back as bytes");
});
