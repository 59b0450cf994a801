// Runs every URL through fetch -> (text, links) -> store on local workers.
// Run: npm run build && node examples/pipeline/index.js
import { LoadBalancer } from "../../dist/index.js";
import { pipeline } from "./pipeline.js";

const urls = ["https://example.org", "https://example.com/missing", "https://example.net"];
for (let i = 0; i < 20; i++) urls.push(`https://site${i}.example`);

const lb = new LoadBalancer({ worker: new URL("./handler.js", import.meta.url), workers: 2 });
try {
  console.log(pipeline.toDot());
  for await (const row of lb.map(urls, { pipeline, settled: true })) {
    if (row.ok) console.log(urls[row.index], "->", row.value.store);
    else console.log(urls[row.index], "failed:", row.error.message);
  }
} finally {
  await lb.close();
}
