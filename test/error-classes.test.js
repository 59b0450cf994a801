// Every error class has a stable code, is a ZerolbError, and `instanceof` works across two copies
// of zerolb (here: the module loaded twice under two URLs), for subclasses too.
import t from "tap";
import * as one from "../dist/shared/errors.js";

const other = await import(`${new URL("../dist/shared/errors.js", import.meta.url).href}?second-copy`);

const make = {
  ZerolbError: (m) => new m.ZerolbError("x"),
  TaskError: (m) => new m.TaskError("x", { id: "a" }),
  TimeoutError: (m) => new m.TimeoutError("x", { id: "a" }),
  WorkerExitError: (m) => new m.WorkerExitError("x", { id: "a" }),
  DependencyError: (m) => new m.DependencyError("x", { id: "a" }),
  CancelledError: (m) => new m.CancelledError("x", { id: "a" }),
  ClosedError: (m) => new m.ClosedError("x"),
  StartupError: (m) => new m.StartupError("x"),
  BrokerError: (m) => new m.BrokerError("x"),
  ProtocolError: (m) => new m.ProtocolError("x"),
  InvalidOptionError: (m) => new m.InvalidOptionError("x"),
  UnsupportedValueError: (m) => new m.UnsupportedValueError("x", "value"),
  JsonLinesError: (m) => new m.JsonLinesError("x", { file: "f", line: 1 }),
};

t.test("every error class: a stable ERR_ZEROLB_ code, a ZerolbError, Error", async (t) => {
  t.not(other.TaskError, one.TaskError, "two copies indeed");
  for (const [name, build] of Object.entries(make)) {
    const err = build(one);
    t.match(err.code, /^ERR_ZEROLB/, `${name} has a code`);
    t.ok(err instanceof one.ZerolbError, `${name} is a ZerolbError`);
    t.ok(err instanceof Error, `${name} is an Error`);
  }
  t.ok(make.InvalidOptionError(one) instanceof TypeError, "InvalidOptionError is still a TypeError");
  t.ok(make.JsonLinesError(one) instanceof SyntaxError, "JsonLinesError is still a SyntaxError");
});

t.test("instanceof across copies: each class, its base classes, and no others", async (t) => {
  const bases = { TimeoutError: ["TaskError"], WorkerExitError: ["TaskError"], DependencyError: ["TaskError"], CancelledError: ["TaskError"] };
  for (const [name, build] of Object.entries(make)) {
    const err = build(other);
    t.ok(err instanceof one[name], `a ${name} of the other copy is an instanceof ${name}`);
    t.ok(err instanceof one.ZerolbError, `... and of ZerolbError`);
    for (const base of bases[name] ?? []) t.ok(err instanceof one[base], `... and of ${base}`);
    for (const unrelated of ["ClosedError", "TimeoutError", "StartupError"]) {
      if (unrelated !== name) t.notOk(err instanceof one[unrelated], `... but not of ${unrelated}`);
    }
  }
  t.notOk(new Error("plain") instanceof one.ZerolbError, "a plain Error is no ZerolbError");
  t.notOk(new TypeError("plain") instanceof one.InvalidOptionError, "nor is a plain TypeError an InvalidOptionError");
});
