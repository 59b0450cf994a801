// StderrTail: the last 4 KiB of a worker's stderr, whatever the sizes of the chunks it came in.
import t from "tap";
import { StderrTail } from "../dist/caller/stderr-tail.js";

t.test("StderrTail - keeps the last bytes across chunks of any size", async (t) => {
  const tail = new StderrTail(10);
  t.equal(tail.text(), "");
  tail.push(Buffer.from("abc"));
  tail.push(Buffer.from("defgh"));
  t.equal(tail.text(), "abcdefgh", "under the capacity: everything");
  tail.push(Buffer.from("ijklm"));
  t.equal(tail.text(), "defghijklm", "past it: the last 10 bytes");
  tail.push(Buffer.from("0123456789ABCDEF"));
  t.equal(tail.text(), "6789ABCDEF", "a chunk larger than the capacity: its end");
  for (const c of "xyz") tail.push(Buffer.from(c));
  t.equal(tail.text(), "9ABCDEFxyz", "many small chunks");
});

t.test("StderrTail - a UTF-8 character cut by the limit is dropped, not shown as garbage", async (t) => {
  const tail = new StderrTail(5);
  tail.push(Buffer.from("é✓ab")); // é: 2 bytes, ✓: 3 bytes, then 2 ASCII: 7 bytes
  t.equal(tail.text(), "✓ab", "the half of é is dropped");
  const defaults = new StderrTail();
  defaults.push(Buffer.alloc(5000, "x"));
  t.equal(defaults.text().length, 4096, "4 KiB by default");
});
