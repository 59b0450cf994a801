// Start-up of zerolb alone: constructor → first result, 2 workers, no-op handler, 7 times in one
// process (the first start also loads the library), median and every value. For before/after pairs
// of a change (bench/run.js's S row runs every peer in a fresh child instead).
//
//   npm run build && node bench/startup.js [/other/build/dist ...]      (several builds: alternated)
import { pathToFileURL } from "node:url";
import { fileURLToPath } from "node:url";

const dists = process.argv.length > 2 ? process.argv.slice(2) : [fileURLToPath(new URL("../dist", import.meta.url))];
const handler = pathToFileURL(fileURLToPath(new URL("./handlers/noop.js", import.meta.url)));
const builds = await Promise.all(dists.map(async (d) => ({ dist: d, LoadBalancer: (await import(pathToFileURL(`${d}/index.js`).href)).LoadBalancer, ms: [] })));
for (let round = 0; round < 7; round++) {
  for (const b of builds) {
    const t0 = performance.now();
    const lb = new b.LoadBalancer({ worker: handler, workers: 2 });
    await lb.send(1);
    await lb.receive();
    b.ms.push(performance.now() - t0);
    await lb.close();
  }
}
for (const b of builds) {
  const sorted = [...b.ms].sort((x, y) => x - y);
  console.log(`${b.dist}: constructor → first result, median ${sorted[3].toFixed(0)} ms (${b.ms.map((x) => x.toFixed(0)).join(" ")}); node ${process.version}`);
}
