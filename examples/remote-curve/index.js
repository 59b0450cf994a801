// Remote workers over CurveZMQ, on localhost: a LoadBalancer with no local workers binds an
// encrypted endpoint that admits only listed worker keys; two `zerolb worker` processes join it
// (as they would from other machines), serve a map, and leave on SIGTERM. A third worker with an
// unlisted key is refused at the handshake.
//   npm run build && node examples/remote-curve/index.js
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { curveKeyPair } from "zeromq";
import { LoadBalancer } from "../../dist/index.js";

const cli = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));
const handler = fileURLToPath(new URL("./handler.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "zerolb-curve-"));

// Keys: one pair for the broker, one per worker (`zerolb keygen --out worker.key.json` does the same).
const server = curveKeyPair();
const keyFile = (name, pair) => {
  const path = join(dir, `${name}.key.json`);
  writeFileSync(path, JSON.stringify(pair), { mode: 0o600 });
  return { path, publicKey: pair.publicKey };
};
const allowed = [keyFile("worker-a", curveKeyPair()), keyFile("worker-b", curveKeyPair())];
const stranger = keyFile("stranger", curveKeyPair());

const lb = new LoadBalancer({
  worker: handler,
  workers: 0,
  endpoint: "tcp://127.0.0.1:0",
  curve: { publicKey: server.publicKey, secretKey: server.secretKey, allow: allowed.map((k) => k.publicKey) },
});
const workers = [];
try {
  await lb.ready;
  console.log(`broker listening on ${lb.endpoint} (CurveZMQ; ${allowed.length} worker keys allowed)`);
  for (const [i, key] of [...allowed, stranger].entries()) {
    const args = [cli, "worker", handler, "--connect", lb.endpoint, "--server-key", server.publicKey, "--key-file", key.path, "--name", `worker-${i}`];
    workers.push(spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] }));
  }
  // Wait until both allowed workers have joined (the stranger never will), for an even split.
  for (let waited = 0; waited < 10_000 && lb.stats().workers.length < allowed.length; waited += 50) await new Promise((r) => setTimeout(r, 50));
  const byWorker = new Map();
  for await (const r of lb.map(Array.from({ length: 2000 }, (_, i) => i))) byWorker.set(r.by, (byWorker.get(r.by) ?? 0) + 1);
  console.log("results per worker process:", Object.fromEntries(byWorker));
  const s = lb.stats();
  console.log("workers seen by the broker:", s.workers.map((w) => `${w.name ?? w.id} (local: ${w.local}) done ${w.done}`).join(", "));
  console.log("refused handshakes (the stranger's key):", s.refusedHandshakes ?? "n/a");
} finally {
  for (const child of workers) child.kill("SIGTERM");
  await Promise.all(workers.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)))));
  await lb.close();
  rmSync(dir, { recursive: true, force: true });
}
