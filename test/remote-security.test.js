// Remote workers and security: a plain-text endpoint only on loopback (or with insecure: true),
// option checks that never show a secret key, CurveZMQ with an allow-list, a wrong server key, and
// a worker of another protocol version refused with a reason.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { curveKeyPair } from "zeromq";
import { LoadBalancer } from "../dist/index.js";
import { alive, collect, createLb, exactlyOnce, fixture, range, tmpDir, waitFor } from "./helpers.js";
import { executionsByPid, startWorker } from "./remote-helpers.js";

const LOOPBACK = "tcp://127.0.0.1:0";
const sleepy = (n, ms) => range(n, (i) => ({ op: "sleep", ms, value: i }));

t.test("endpoint - a non-loopback plain-text bind is refused; insecure: true allows it", async (t) => {
  t.throws(
    () => new LoadBalancer({ worker: fixture("ops.js"), workers: 0, endpoint: "tcp://0.0.0.0:0" }),
    { name: "TypeError", code: "ERR_ZEROLB_INVALID_OPTION", message: /not a loopback address.*curve.*insecure: true/s },
  );
  t.throws(() => new LoadBalancer({ worker: fixture("ops.js"), workers: 0, endpoint: "tcp://*:0" }), TypeError);
  const lb = createLb(t, { workers: 0, endpoint: "tcp://0.0.0.0:0", insecure: true });
  await lb.ready;
  const port = /:(\d+)$/.exec(lb.endpoint)?.[1];
  t.match(lb.endpoint, /^tcp:\/\/0\.0\.0\.0:\d+$/);
  startWorker(t, `tcp://127.0.0.1:${port}`);
  t.same(await collect(lb.map(range(20))), range(20, (i) => i * 2), "a worker joins through it");
});

t.test("endpoint - option checks name the problem and never show a secret key", async (t) => {
  const pair = curveKeyPair();
  const other = curveKeyPair();
  const make = (options) => () => new LoadBalancer({ worker: fixture("ops.js"), workers: 0, ...options });
  t.throws(make({ endpoint: "udp://127.0.0.1:1" }), { name: "TypeError", message: /tcp:\/\/host:port/ });
  t.throws(make({ curve: pair }), { message: /curve needs options\.endpoint/ });
  const thrown = (fn) => {
    try {
      fn();
    } catch (err) {
      return err;
    }
  };
  const badSecret = "secret!".repeat(6);
  const notAKey = thrown(make({ endpoint: LOOPBACK, curve: { publicKey: pair.publicKey, secretKey: badSecret } }));
  t.match(notAKey?.message, /secretKey must be a 40-character Z85 key/);
  t.notOk(notAKey?.message.includes(badSecret), "the bad secret key is not echoed");
  const mismatch = thrown(make({ endpoint: LOOPBACK, curve: { publicKey: other.publicKey, secretKey: pair.secretKey } }));
  t.match(mismatch?.message, /does not belong/, "a mismatched pair is caught");
  t.notOk(mismatch?.message.includes(pair.secretKey), "the secret key is not in the message");
  t.throws(make({ endpoint: LOOPBACK, curve: { ...pair, allow: ["nope"] } }), { message: /curve\.allow/ });
  t.throws(make({ endpoint: LOOPBACK, maxMessageSize: 10 }), { message: /maxMessageSize/ });
});

t.test("curve - with allow, only listed workers get tasks; refused handshakes are counted", async (t) => {
  const dir = tmpDir(t);
  const server = curveKeyPair();
  const listed = curveKeyPair();
  const stranger = curveKeyPair();
  const keyFile = (name, pair) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(pair), { mode: 0o600 });
    chmodSync(path, 0o600);
    return path;
  };
  const lb = createLb(t, { workers: 0, endpoint: LOOPBACK, curve: { ...server, allow: [listed.publicKey] } });
  await lb.ready;
  const logs = { listed: join(dir, "listed.log"), stranger: join(dir, "stranger.log"), plain: join(dir, "plain.log") };
  const good = startWorker(t, lb.endpoint, {
    args: ["--server-key", server.publicKey, "--key-file", keyFile("listed.json", listed)], env: { ZEROLB_EXEC_LOG: logs.listed },
  });
  const bad = startWorker(t, lb.endpoint, {
    args: ["--server-key", server.publicKey, "--key-file", keyFile("stranger.json", stranger)], env: { ZEROLB_EXEC_LOG: logs.stranger },
  });
  const plain = startWorker(t, lb.endpoint, { env: { ZEROLB_EXEC_LOG: logs.plain } });
  await good.waitForLog(/joined/);
  await bad.waitForLog(/refused the handshake \(auth/);
  const results = await collect(lb.map(sleepy(300, 1), { ordered: false }));
  exactlyOnce(t, results, range(300));
  const runs = executionsByPid(readFileSync(logs.listed, "utf8"));
  t.same([...runs.keys()], [good.pid], "only the listed worker ran tasks");
  t.equal(runs.get(good.pid), 300, "each task once");
  t.notOk(existsSync(logs.stranger), "the worker with an unlisted key ran nothing");
  t.notOk(existsSync(logs.plain), "the plain-text worker ran nothing");
  t.ok(alive(bad.pid) && alive(plain.pid), "the refused workers keep retrying; nothing crashed");
  // Each refusal pushes fresh stats to the caller (and the refused workers keep retrying).
  await waitFor(() => lb.stats().refusedHandshakes >= 2, { what: "refused handshakes counted in stats()" });
  t.ok(lb.stats().refusedHandshakes >= 2, `refusedHandshakes = ${lb.stats().refusedHandshakes}`);
  t.equal(lb.stats().workers.filter((w) => !w.local).length, 1, "one remote worker joined");
  for (const w of [good, bad, plain]) t.notOk(w.stderr.includes(listed.secretKey) || w.stderr.includes(stranger.secretKey), "no secret key on stderr");
});

t.test("curve - a wrong --server-key never joins, and says why", async (t) => {
  const dir = tmpDir(t);
  const server = curveKeyPair();
  const lb = createLb(t, { workers: 0, endpoint: LOOPBACK, curve: server });
  await lb.ready;
  const path = join(dir, "worker.json");
  writeFileSync(path, JSON.stringify(curveKeyPair()), { mode: 0o600 });
  const wrong = startWorker(t, lb.endpoint, { args: ["--server-key", curveKeyPair().publicKey, "--key-file", path] });
  const right = startWorker(t, lb.endpoint, { args: ["--server-key", server.publicKey, "--key-file", path] });
  await right.waitForLog(/joined/);
  t.same(await collect(lb.map(range(50))), range(50, (i) => i * 2), "without an allow-list, any key that knows the server key joins");
  t.same(lb.stats().workers.map((w) => w.pid), [right.pid], "only the worker with the right server key");
  t.notOk(/joined/.test(wrong.stderr), "the other never joined");
});

t.test("protocol versions - a worker of another version is refused with a reason, and the CLI worker exits saying why", async (t) => {
  const { decode, encode } = await import("@msgpack/msgpack");
  const zmq = await import("zeromq");
  // A Hello of version 2 at a real broker: the answer is a Refused naming both versions.
  const lb = createLb(t, { workers: 0, endpoint: LOOPBACK });
  await lb.ready;
  const stranger = new zmq.Dealer({ linger: 0 });
  t.teardown(() => stranger.close());
  stranger.connect(lb.endpoint);
  await stranger.send([encode({ v: 2, k: 1, pid: 1, concurrency: 1 })]);
  let answer;
  do answer = decode((await stranger.receive())[0]);
  while (answer.k === 13); // the broker greets every new connection with a Reset
  t.equal(answer.k, 14, "Refused");
  t.match(answer.reason, /protocol version 1 and the worker version 2/);
  t.equal(lb.stats().workers.length, 0, "it did not join");

  // A broker that refuses: `zerolb worker` stops waiting and exits 1 with the broker's reason.
  const broker = new zmq.Router({ linger: 0, mandatory: true });
  t.teardown(() => broker.close());
  await broker.bind("tcp://127.0.0.1:*");
  const worker = startWorker(t, broker.lastEndpoint);
  let id;
  for (;;) {
    const [from, header] = await broker.receive();
    if (decode(header).k === 1) {
      id = from;
      break;
    }
  }
  await broker.send([id, encode({ v: 3, k: 14, reason: "this broker speaks zerolb protocol version 3" })]);
  const { code } = await worker.exited;
  t.equal(code, 1, "exit code 1");
  t.match(worker.stderr, /refused this worker: this broker speaks zerolb protocol version 3/);
});
