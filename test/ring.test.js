// Deque: the ring buffer behind every queue.
import t from "tap";
import { Deque } from "../dist/shared/ring.js";

const drain = (d) => {
  const out = [];
  for (let x = d.shift(); x !== undefined; x = d.shift()) out.push(x);
  return out;
};

t.test("Deque - push/shift is first in, first out", async (t) => {
  const d = new Deque(4);
  t.equal(d.size, 0);
  t.equal(d.shift(), undefined);
  t.equal(d.peek(), undefined);
  for (let i = 0; i < 3; i++) d.push(i);
  t.equal(d.size, 3);
  t.equal(d.peek(), 0);
  t.equal(d.size, 3, "peek takes nothing");
  t.same(drain(d), [0, 1, 2]);
  t.equal(d.size, 0);
});

t.test("Deque - unshift puts an item at the front", async (t) => {
  const d = new Deque(4);
  d.push(2);
  d.push(3);
  d.unshift(1);
  d.unshift(0);
  t.equal(d.peek(), 0);
  t.same(drain(d), [0, 1, 2, 3]);
});

t.test("Deque - grows past its capacity and keeps the order across the wrap-around", async (t) => {
  const d = new Deque(4);
  const model = [];
  let state = 7;
  const random = (n) => ((state = (state * 1103515245 + 12345) % 2 ** 31) % n);
  let next = 0;
  for (let step = 0; step < 5000; step++) {
    const op = random(4);
    if (op <= 1) {
      d.push(next);
      model.push(next++);
    } else if (op === 2) {
      d.unshift(next);
      model.unshift(next++);
    } else if (d.shift() !== model.shift()) {
      t.fail(`step ${step}: shift disagrees with an array`);
      break;
    }
    if (d.size !== model.length) {
      t.fail(`step ${step}: size ${d.size}, expected ${model.length}`);
      break;
    }
  }
  t.ok(model.length > 100, "it grew well past the initial capacity");
  t.same(drain(d), model, "same items, same order as an array doing the same");
});

t.test("Deque - removeWhere drops matching items and keeps the order of the rest", async (t) => {
  const d = new Deque(2);
  for (let i = 0; i < 10; i++) d.push(i);
  d.shift();
  d.unshift(-1);
  t.equal(d.removeWhere((x) => x % 3 === 0), 3, "removes 3, 6 and 9");
  t.equal(d.size, 7);
  t.same(drain(d), [-1, 1, 2, 4, 5, 7, 8]);
  t.equal(d.removeWhere(() => true), 0, "on an empty deque");
});
