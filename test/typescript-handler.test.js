import { execFile } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import t from "tap";
import { collect, createLb, fixture, tmpPath } from "./helpers.js";

const root = fileURLToPath(new URL("..", import.meta.url));

t.test("new LoadBalancer({ worker: '*.ts' }) - runs a TypeScript handler under tsx (a dev dependency here)", async (t) => {
  const lb = createLb(t, { worker: fixture("typed.ts"), workers: 1 });
  t.same(await collect(lb.map([{ n: 3 }, { n: 4 }])), [{ n: 3, squared: 9 }, { n: 4, squared: 16 }]);
});

t.test("new LoadBalancer({ worker: '*.ts' }) - without tsx, ready rejects saying what to install", async (t) => {
  // A copy of zerolb whose node_modules has every package but tsx, and a handler beside it.
  const dir = tmpPath(t, "no-tsx");
  mkdirSync(join(dir, "node_modules"), { recursive: true });
  cpSync(join(root, "dist"), join(dir, "dist"), { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  for (const name of readdirSync(join(root, "node_modules"))) {
    if (name !== "tsx" && !name.startsWith(".")) symlinkSync(join(root, "node_modules", name), join(dir, "node_modules", name));
  }
  cpSync(fixture("typed.ts"), join(dir, "handler.ts"));
  writeFileSync(
    join(dir, "main.js"),
    `import { LoadBalancer } from "./dist/index.js";
const lb = new LoadBalancer({ worker: "./handler.ts", workers: 1 });
try { await lb.ready; console.log("unexpectedly ready"); } catch (err) { console.log(err.code, err.message); }
await lb.close();`,
  );
  const { stdout } = await promisify(execFile)(process.execPath, ["main.js"], { cwd: dir, timeout: 20_000 });
  t.match(stdout, /^ERR_ZEROLB_STARTUP .*handler\.ts is TypeScript: install tsx to run it \(npm install --save-dev tsx\)/);
});
