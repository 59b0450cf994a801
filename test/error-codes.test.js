// The error classes (README, "Errors"): each with its stable code, `instanceof` working across two
// copies of zerolb, and subclasses that are TaskErrors.
import t from "tap";
import * as zerolb from "../dist/index.js";

// A second copy of the module, as when two packages in one program each bring their own zerolb.
const copy = await import(`../dist/shared/errors.js?copy=${Date.now()}`);

const CODES = {
  TaskError: "ERR_ZEROLB_TASK_FAILED",
  TimeoutError: "ERR_ZEROLB_TIMEOUT",
  WorkerExitError: "ERR_ZEROLB_WORKER_EXIT",
  DependencyError: "ERR_ZEROLB_DEPENDENCY_FAILED",
  CancelledError: "ERR_ZEROLB_CANCELLED",
  StartupError: "ERR_ZEROLB_STARTUP",
  BrokerError: "ERR_ZEROLB_BROKER",
  ClosedError: "ERR_ZEROLB_CLOSED",
  ProtocolError: "ERR_ZEROLB_PROTOCOL",
  JsonLinesError: "ERR_ZEROLB_JSONL",
};
const TASK_ERRORS = ["TimeoutError", "WorkerExitError", "DependencyError", "CancelledError"];

function make(classes, name) {
  const C = classes[name];
  if (name === "JsonLinesError") return new C("not JSON", { file: "f.jsonl", line: 1 });
  return TASK_ERRORS.includes(name) || name === "TaskError" ? new C("failed", { id: "7", index: 2 }) : new C("failed");
}

t.test("errors - every class has its stable code and its own name", async (t) => {
  t.equal(Object.keys(CODES).length, 10);
  for (const [name, code] of Object.entries(CODES)) {
    const err = make(zerolb, name);
    t.equal(err.code, code, `${name}.code`);
    t.equal(err.name, name, `${name}.name`);
    t.ok(err instanceof Error, `${name} is an Error`);
  }
  const invalid = new zerolb.InvalidOptionError("options.x is wrong");
  t.ok(invalid instanceof TypeError, "an invalid option is a TypeError");
  t.equal(invalid.code, "ERR_ZEROLB_INVALID_OPTION");
  for (const name of TASK_ERRORS) t.ok(make(zerolb, name) instanceof zerolb.TaskError, `${name} is a TaskError`);
  const err = make(zerolb, "TaskError");
  t.same([err.id, err.index], ["7", 2], "a TaskError carries the task's id and index");
});

t.test("errors - instanceof recognises the same class from another copy of zerolb", async (t) => {
  t.not(copy.TaskError, zerolb.TaskError, "two distinct copies of the classes");
  for (const name of Object.keys(CODES).filter((n) => n !== "JsonLinesError")) {
    t.ok(make(copy, name) instanceof zerolb[name], `a ${name} of the other copy is a ${name} here`);
    t.ok(make(copy, name) instanceof zerolb.ZerolbError, `and a ZerolbError`);
  }
  t.notOk(make(copy, "ClosedError") instanceof zerolb.TaskError, "a ClosedError is not a TaskError");
  t.notOk(new Error("x") instanceof zerolb.ZerolbError, "a plain Error is not a ZerolbError");
});

t.test(
  "errors - a TaskError subclass from another copy is a TaskError here too",
  async (t) => {
    for (const name of TASK_ERRORS) t.ok(make(copy, name) instanceof zerolb.TaskError, `another copy's ${name} is a TaskError`);
  },
);
