// What fast-check generates: the commands of a run, with their weights.
import fc from "fast-check";
import { AbortSend, Receive, Send } from "./send-commands.js";
import { AbortMap, BreakMap, MapItems, MapNext, TwoNexts } from "./map-commands.js";
import { BROKER_WAITS, KillBroker, KillWorker, Quiesce } from "./fault-commands.js";

const specArb = fc.record({
  ms: fc.constantFrom(0, 5, 40, 150, 400),
  honor: fc.boolean(),
  fail: fc.oneof({ weight: 7, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});
const pickArb = fc.nat({ max: 50 });

const sendArb = fc
  .tuple(specArb, fc.option(fc.nat({ max: 7 }), { nil: null, freq: 2 }), fc.array(pickArb, { maxLength: 2 }), fc.boolean())
  .map(([spec, id, after, signal]) => new Send(spec, id, after, signal));
const mapArb = fc
  .tuple(fc.array(specArb, { minLength: 1, maxLength: 6 }), fc.boolean(), fc.boolean(), fc.boolean(), fc.nat({ max: 6 }), fc.constantFrom("keep", "break", "drain"))
  .map(([specs, ordered, settled, signal, take, then]) => new MapItems(specs, ordered, settled, signal, take, then));

/** Each command's arbitrary, repeated by weight (fast-check picks among them evenly). */
export const commandArbitraries = [
  ...Array(6).fill(sendArb),
  ...Array(3).fill(fc.constant(new Receive())),
  ...Array(3).fill(mapArb),
  ...Array(2).fill(fc.tuple(pickArb, fc.integer({ min: 1, max: 4 })).map(([pick, count]) => new MapNext(pick, count))),
  pickArb.map((pick) => new TwoNexts(pick)),
  pickArb.map((pick) => new BreakMap(pick)),
  pickArb.map((pick) => new AbortMap(pick)),
  pickArb.map((pick) => new AbortSend(pick)),
  fc.nat({ max: 1 }).map((i) => new KillWorker(i)),
  fc.nat({ max: BROKER_WAITS.length - 1 }).map((wait) => new KillBroker(wait)),
  fc.constant(new Quiesce()),
];
