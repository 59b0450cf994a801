// The ceiling's worker: DEALER to the broker's backend; runs the handler on every item of a batch
// and sends the results back as one batch.
//   node worker.js <ipc dir> <handler path>
import { pathToFileURL } from "node:url";
import { Dealer } from "zeromq";
import { Decoder, Encoder } from "@msgpack/msgpack";
import { CREDIT, u32, exitOnSignal } from "./common.js";

const [dir, handler] = process.argv.slice(2);
const { default: fn } = await import(pathToFileURL(handler).href);
const sock = new Dealer({ sendHighWaterMark: 0, receiveHighWaterMark: 0, linger: 0, reconnectInterval: 5, reconnectMaxInterval: 100 });
exitOnSignal([sock]);
const encoder = new Encoder();
const decoder = new Decoder();
const isThenable = (x) => x !== null && typeof x === "object" && typeof x.then === "function";

sock.connect(`ipc://${dir}/b`);
await sock.send(u32(CREDIT));
for await (const [hdr, batch] of sock) {
  const items = decoder.decode(batch);
  let async = false;
  for (let i = 0; i < items.length; i++) {
    const out = fn(items[i]);
    if (isThenable(out)) async = true;
    items[i] = out;
  }
  const results = async ? await Promise.all(items) : items;
  await sock.send([hdr, encoder.encode(results)]); // encode() returns a fresh buffer (zero-copy send)
}
