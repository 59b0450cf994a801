// Type tests of the public API (compiled by `npm run test:types`, never run): what a
// LoadBalancer typed with its handler module's type takes and yields, and that untyped use still
// compiles. A line marked `@ts-expect-error` fails the check if it compiles.
import { expectTypeOf } from "expect-type";
import {
  LoadBalancer, Pipeline, createTransform, type Handler, type HandlerContext, type Result, type SettledResult, type SetupContext, type TaskContext,
  type ModuleWorkerData, type MapOptions, type SendOptions,
} from "zerolb";
import type { Duplex } from "node:stream";
import { TaskContext as TaskContextValue } from "zerolb";

type HandlerModule = typeof import("./handler.js");
declare const lb: LoadBalancer<HandlerModule>;
declare const urls: string[];
declare const numbers: AsyncIterable<number>;

// ---- map: inference from the module ----------------------------------------------------------

// The default export when `fn` is absent: string in, its awaited result out.
expectTypeOf(lb.map(urls)).toEqualTypeOf<AsyncIterableIterator<{ url: string; attempt: number; model: string }>>();
// A named sync handler, from an async source.
expectTypeOf(lb.map(numbers, { fn: "double" })).toEqualTypeOf<AsyncIterableIterator<number>>();
// A handler typed with Handler<In, Out>.
expectTypeOf(lb.map([{ text: "a" }], { fn: "score", ordered: false })).toEqualTypeOf<AsyncIterableIterator<number>>();
// `fn: "default"` is the default export too.
expectTypeOf(lb.map(urls, { fn: "default" })).toEqualTypeOf<AsyncIterableIterator<{ url: string; attempt: number; model: string }>>();
// A handler that takes no parameter takes any item.
expectTypeOf(lb.map([1, "two", null], { fn: "now" })).toEqualTypeOf<AsyncIterableIterator<number>>();

// settled: true yields rows of the result.
expectTypeOf(lb.map(numbers, { fn: "double", settled: true })).toEqualTypeOf<AsyncIterableIterator<SettledResult<number>>>();
// settled: false, or a boolean not known until run time.
expectTypeOf(lb.map(numbers, { fn: "double", settled: false })).toEqualTypeOf<AsyncIterableIterator<number>>();
declare const settled: boolean;
expectTypeOf(lb.map(numbers, { fn: "double", settled })).toEqualTypeOf<AsyncIterableIterator<number | SettledResult<number>>>();

// A wrong item type is an error.
// @ts-expect-error double takes numbers
lb.map(urls, { fn: "double" });
// @ts-expect-error the default export takes strings
lb.map([1, 2]);
// A wrong fn name is an error: a typo, a non-function export, setup and teardown.
// @ts-expect-error no handler "dubble"
lb.map(numbers, { fn: "dubble" });
// @ts-expect-error VERSION is not a function
lb.map(numbers, { fn: "VERSION" });
// @ts-expect-error setup is not a handler
lb.map(numbers, { fn: "setup" });
// @ts-expect-error teardown is not a handler
lb.send(1, { fn: "teardown" });

// ---- pipelines: the sinks' shape -------------------------------------------------------------

const pipeline = new Pipeline({
  fetch: { fn: "default" },
  title: { after: ["fetch"] },
  loud: { fn: "shout", after: ["title"] },
  report: { after: ["title", "loud"] },
  count: { fn: "double", after: [] },
});
expectTypeOf(pipeline).toEqualTypeOf<Pipeline<{
  readonly fetch: { readonly fn: "default" };
  readonly title: { readonly after: readonly ["fetch"] };
  readonly loud: { readonly fn: "shout"; readonly after: readonly ["title"] };
  readonly report: { readonly after: readonly ["title", "loud"] };
  readonly count: { readonly fn: "double"; readonly after: readonly [] };
}>>();
// Items are what every root job takes (fetch: a string, count: a number); each row has a key per
// sink (report, count), typed by that sink's fn.
declare const both: (string & number)[];
expectTypeOf(lb.map(both, { pipeline })).toEqualTypeOf<AsyncIterableIterator<{ report: { length: number }; count: number }>>();
const chain = new Pipeline({ fetch: { fn: "default" }, title: { after: ["fetch"] } });
expectTypeOf(lb.map(urls, { pipeline: chain })).toEqualTypeOf<AsyncIterableIterator<{ title: string }>>();
expectTypeOf(lb.map(urls, { pipeline: chain, settled: true })).toEqualTypeOf<AsyncIterableIterator<SettledResult<{ title: string }>>>();
// @ts-expect-error the root job (the default export) takes strings
lb.map(numbers, { pipeline: chain });
// A job whose fn, given or defaulted to its name, is not one of the module's handlers is an error.
// @ts-expect-error no handler "fetchh"
lb.map(urls, { pipeline: new Pipeline({ fetch: { fn: "fetchh" } }) });
// @ts-expect-error a job named "fetch" with no fn runs "fetch", which the module does not export
lb.map(urls, { pipeline: new Pipeline({ fetch: {} }) });
// A job whose fn cannot take what its parents return is an error: one parent hands its result,
// several an object keyed by their names.
// @ts-expect-error double takes a number, fetch returns an object
lb.map(urls, { pipeline: new Pipeline({ fetch: { fn: "default" }, size: { fn: "double", after: ["fetch"] } }) });
// @ts-expect-error report takes { title, loud }, gets { title, fetch }
lb.map(urls, { pipeline: new Pipeline({ fetch: { fn: "default" }, title: { after: ["fetch"] }, report: { after: ["title", "fetch"] } }) });
// A job after the same job twice has one parent, as at run time.
lb.map(urls, { pipeline: new Pipeline({ fetch: { fn: "default" }, title: { after: ["fetch", "fetch"] } }) });
// `after` may name only the pipeline's own jobs.
// @ts-expect-error no job "fetc"
new Pipeline({ fetch: {}, text: { after: ["fetc"] } });

// ---- send / receive --------------------------------------------------------------------------

expectTypeOf(lb.send("https://example.com")).toEqualTypeOf<Promise<string>>();
void lb.send(21, { fn: "double", id: "a" });
void lb.send({ text: "x" }, { fn: "score", after: ["a"] });
// @ts-expect-error double takes numbers
void lb.send("21", { fn: "double" });
// @ts-expect-error the default export takes strings
void lb.send(21);
// @ts-expect-error no handler "dubble"
void lb.send(21, { fn: "dubble" });
// receive(): any handler's result by default, or the type named.
expectTypeOf(lb.receive()).toEqualTypeOf<Promise<Result<{ url: string; attempt: number; model: string } | number | string | { length: number }>>>();
expectTypeOf(lb.receive<number>()).toEqualTypeOf<Promise<Result<number>>>();

// ---- transform -------------------------------------------------------------------------------

expectTypeOf(lb.transform({ fn: "double", highWaterMark: 8 })).toEqualTypeOf<Duplex>();
// @ts-expect-error no handler "dubble"
lb.transform({ fn: "dubble" });
// A typed LoadBalancer is still a MapSource for createTransform.
expectTypeOf(createTransform(lb, { fn: "double" })).toEqualTypeOf<Duplex>();
// map<T>() was a cast and is gone: the module's type says what a map yields.
// @ts-expect-error a type argument of map() is its fn name now
lb.map<number>([1]);

// ---- a module with no default export ---------------------------------------------------------

declare const named: LoadBalancer<typeof import("./named-only.js")>;
expectTypeOf(named.map(urls, { fn: "upper" })).toEqualTypeOf<AsyncIterableIterator<string>>();
// @ts-expect-error no default export: fn is needed
named.map(urls);
// @ts-expect-error no default export: fn is needed
void named.send("a");

// ---- untyped use still compiles --------------------------------------------------------------

const untyped = new LoadBalancer({ worker: new URL("./handler.js", import.meta.url), workers: 2 });
expectTypeOf(untyped).toEqualTypeOf<LoadBalancer>();
expectTypeOf(untyped.map([1, "a", { b: 2 }])).toEqualTypeOf<AsyncIterableIterator<unknown>>();
expectTypeOf(untyped.map(urls, { fn: "anything", settled: true })).toEqualTypeOf<AsyncIterableIterator<SettledResult<unknown>>>();
declare const fnName: string;
expectTypeOf(untyped.map(urls, { fn: fnName })).toEqualTypeOf<AsyncIterableIterator<unknown>>();
expectTypeOf(untyped.map(urls, { pipeline: new Pipeline({ a: {}, b: { after: ["a"] } }) })).toEqualTypeOf<AsyncIterableIterator<{ b: unknown }>>();
// Options built beforehand, typed with the exported option types.
declare const mapOptions: MapOptions;
expectTypeOf(untyped.map(urls, mapOptions)).toEqualTypeOf<AsyncIterableIterator<unknown>>();
declare const sendOptions: SendOptions;
void untyped.send({ any: "thing" }, sendOptions);
void untyped.send({ any: "thing" }, { fn: "whatever" });
expectTypeOf(untyped.receive()).toEqualTypeOf<Promise<Result<unknown>>>();
expectTypeOf(untyped.receive<number>()).toEqualTypeOf<Promise<Result<number>>>();
// A Pipeline built from a value of the wide type still goes.
declare const jobs: Record<string, { fn?: string; after?: string[] }>;
expectTypeOf(untyped.map(urls, { pipeline: new Pipeline(jobs) })).toEqualTypeOf<AsyncIterableIterator<Record<string, unknown>>>();

// A function for LoadBalancers of any module takes LoadBalancer<any>; the untyped LoadBalancer
// type is not a supertype of typed ones (its handlers take unknown, a typed module's do not).
function anyLoadBalancer(l: LoadBalancer<any>) {
  return l.map([1]);
}
expectTypeOf(anyLoadBalancer(lb)).toEqualTypeOf<AsyncIterableIterator<unknown>>();
// @ts-expect-error a typed LoadBalancer is not a LoadBalancer<UntypedModule>
export const notUntyped: LoadBalancer = lb;

// ---- workerData: typed by what setup and the handlers read ------------------------------------

expectTypeOf<ModuleWorkerData<HandlerModule>>().toEqualTypeOf<{ model: string }>();
new LoadBalancer<HandlerModule>({ worker: "./handler.js", workerData: { model: "small" } });
new LoadBalancer<HandlerModule>({ worker: "./handler.js" });
// @ts-expect-error setup and the handlers read workerData.model as a string
new LoadBalancer<HandlerModule>({ worker: "./handler.js", workerData: { model: 1 } });
// A module that says nothing of workerData, and an untyped LoadBalancer, take any.
new LoadBalancer<typeof import("./named-only.js")>({ worker: "./named-only.js", workerData: [1, "a"] });
new LoadBalancer({ worker: "./handler.js", workerData: { model: 1 } });

// ---- handler types ---------------------------------------------------------------------------

// A handler module typed with them: Handler<In, Out, WorkerData> gives the parameters, Setup its ctx.
expectTypeOf<Parameters<HandlerModule["score"]>>().toEqualTypeOf<[{ text: string }, HandlerContext<{ model: string }>]>();
expectTypeOf<ReturnType<HandlerModule["score"]>>().toEqualTypeOf<number | Promise<number>>();
expectTypeOf<Parameters<HandlerModule["setup"]>[0]>().toEqualTypeOf<SetupContext<{ model: string }>>();
// @ts-expect-error a Handler<string, number> may not return a string
export const wrong: Handler<string, number> = (text) => text;
// TaskContext is HandlerContext under its old name: a type, not a value.
expectTypeOf<TaskContext<{ a: 1 }>>().toEqualTypeOf<HandlerContext<{ a: 1 }>>();
expectTypeOf<HandlerContext>().toEqualTypeOf<{ readonly id: string; readonly attempt: number; readonly workerData: unknown; readonly signal: AbortSignal }>();
// @ts-expect-error TaskContext is not a value any more: the worker makes it, no caller constructs it
void TaskContextValue;
