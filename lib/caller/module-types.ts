// What a LoadBalancer knows at compile time about its handler module: from the module's type
// (`typeof import("./handler.js")`), the names `fn` may take, each function's input and the
// awaited type of its result, and what a map yields for its options. Types only: nothing here
// runs, so typing a LoadBalancer changes nothing at run time.
import type { HandlerContext, SetupContext } from "../shared/handler-types.js";
import type { SettledResult } from "./map-types.js";
import type { JobSpec, Pipeline } from "./pipeline.js";

/**
 * The module type of a LoadBalancer that was given none: any `fn` name, any input, results of
 * type `unknown`. `new LoadBalancer({ worker })` is a `LoadBalancer<UntypedModule>`.
 */
export interface UntypedModule {
  /** Every name is a handler taking and returning anything. */
  [fn: string]: (data: unknown, ctx: HandlerContext) => unknown;
}

/**
 * The names `fn` may take for a handler module `M`: its exported functions but `setup` and
 * `teardown` (`"default"` is the default export, also what an absent `fn` runs).
 *
 * @typeParam M - the handler module's type, `typeof import("./handler.js")`.
 */
export type HandlerName<M> = Exclude<
  { [K in keyof M]: M[K] extends (...args: never[]) => unknown ? K : never }[keyof M] & string,
  "setup" | "teardown"
>;

/**
 * The `fn` an absent `fn` option stands for: `"default"` if the module exports a default
 * function, else `never` (then every call must name its `fn`).
 *
 * @typeParam M - the handler module's type.
 */
export type DefaultHandlerName<M> = "default" & HandlerName<M>;

/**
 * The input of a call whose `fn` is absent when the handler module has no default export
 * function: no value has this type, so such a call does not compile. Pass `fn`.
 */
export interface NoDefaultExportPassFn {
  /** Never present: this type only names the problem in compiler errors. */
  readonly "the handler module has no default export: pass options.fn": never;
}

/**
 * The input (first parameter) of handler `F` of module `M`: `unknown` for a handler that takes
 * no parameter. For a union of names, the union of their inputs (so that a misspelled `fn`,
 * which leaves `F` at every name, is reported on `fn` rather than on the data).
 *
 * @typeParam M - the handler module's type.
 * @typeParam F - one of its handler names.
 */
export type HandlerInput<M, F extends HandlerName<M>> = [F] extends [never]
  ? NoDefaultExportPassFn
  : F extends unknown ? (M[F] extends (data: infer In, ...rest: never[]) => unknown ? In : never) : never;

/**
 * The result of handler `F` of module `M`, awaited: what a map yields and `receive()` hands out
 * for a task of that handler.
 *
 * @typeParam M - the handler module's type.
 * @typeParam F - one of its handler names.
 */
export type HandlerOutput<M, F extends HandlerName<M>> = M[F] extends (...args: never[]) => infer Out ? Awaited<Out> : never;

/**
 * The result of any handler of module `M`: what `receive()` hands out by default, since tasks of
 * every `fn` come back through it.
 *
 * @typeParam M - the handler module's type.
 */
export type AnyHandlerOutput<M> = { [F in HandlerName<M>]: HandlerOutput<M, F> }[HandlerName<M>];

/**
 * The `workerData` a handler module reads: what its `setup(ctx)` and its handlers' `ctx` are
 * typed with (all of them at once), `unknown` when none says.
 *
 * @typeParam M - the handler module's type.
 */
export type ModuleWorkerData<M> = {
  // never for an export that says nothing, or reads workerData as unknown or any (unknown would
  // swallow the others in the union).
  [K in keyof M]: K extends "teardown" ? never
    : K extends "setup" ? (M[K] extends (ctx: SetupContext<infer Data>) => unknown ? (unknown extends Data ? never : Data) : never)
    : M[K] extends (data: never, ctx: HandlerContext<infer Data>) => unknown ? (unknown extends Data ? never : Data) : never;
}[keyof M] extends infer Each
  ? [Each] extends [never] ? unknown
    // The same value reaches each of them: the intersection of what each expects (A | B → A & B).
    : (Each extends unknown ? (each: Each) => void : never) extends (each: infer All) => void ? All : never
  : never;

/**
 * The `fn` pipeline job `K` runs: its own `fn`, or its name.
 *
 * @typeParam Jobs - the pipeline's jobs, as given to `new Pipeline`.
 * @typeParam K - one job's name.
 */
export type JobFn<Jobs, K extends keyof Jobs> = Jobs[K] extends {
  /** The job's own `fn`. */
  readonly fn: infer F extends string;
} ? F : K & string;

/**
 * The names of the jobs that some job of a pipeline runs `after`.
 *
 * @typeParam Jobs - the pipeline's jobs, as given to `new Pipeline`.
 */
export type PipelineParents<Jobs> = {
  [K in keyof Jobs]: Jobs[K] extends {
    /** The jobs this one runs after. */
    readonly after: readonly (infer A)[];
  } ? A : never;
}[keyof Jobs];

/**
 * The names of a pipeline's sinks (jobs no other job runs after): the keys of what a map with
 * this pipeline yields per item.
 *
 * @typeParam Jobs - the pipeline's jobs, as given to `new Pipeline`.
 */
export type PipelineSinks<Jobs> = Exclude<keyof Jobs, PipelineParents<Jobs>> & string;

/**
 * The names of a pipeline's roots (jobs with no `after`, or an empty one): each gets the item itself.
 *
 * @typeParam Jobs - the pipeline's jobs, as given to `new Pipeline`.
 */
export type PipelineRoots<Jobs> = {
  [K in keyof Jobs]: Jobs[K] extends {
    /** At least one job this one runs after: not a root. */
    readonly after: readonly [unknown, ...unknown[]];
  } ? never : K;
}[keyof Jobs] & string;

/**
 * What each item of a map with a pipeline must be: the input of every root job's `fn` at once.
 *
 * @typeParam M - the handler module's type.
 * @typeParam Jobs - the pipeline's jobs.
 */
export type PipelineInput<M, Jobs> = string extends keyof Jobs ? unknown : {
  // A job whose fn is not a handler takes anything here: the pipeline option reports it.
  [K in PipelineRoots<Jobs>]: JobFn<Jobs, K> extends HandlerName<M> ? HandlerInput<M, JobFn<Jobs, K>> : unknown;
}[PipelineRoots<Jobs>] extends infer Inputs
  // Every root job gets the item: the inputs' intersection (A | B → A & B, through a parameter).
  ? (Inputs extends unknown ? (input: Inputs) => void : never) extends (input: infer All) => void ? All : never
  : never;

/**
 * What a map with a pipeline yields per item: the result of each sink job, keyed by its name.
 *
 * @typeParam M - the handler module's type.
 * @typeParam Jobs - the pipeline's jobs.
 */
export type PipelineOutput<M, Jobs> = string extends keyof Jobs ? Record<string, AnyHandlerOutput<M>> : { [K in PipelineSinks<Jobs>]: HandlerOutput<M, JobFn<Jobs, K> & HandlerName<M>> };

/**
 * The jobs of a pipeline whose every `fn` (given, or the job's name) is a handler of module `M`
 * that takes what the job's `after` jobs return: what `map()` accepts as `pipeline`. A job running
 * a function the module does not export is reported on its `fn` (or, with no `fn`, as missing
 * one); a job that cannot take its parents' results, as a {@link JobInputMismatch}.
 *
 * @typeParam M - the handler module's type.
 * @typeParam Jobs - the pipeline's jobs.
 */
export type JobsOfModule<M, Jobs> = {
  [K in keyof Jobs]: (K extends HandlerName<M>
    ? JobSpec<keyof Jobs & string, HandlerName<M>>
    : JobSpec<keyof Jobs & string, HandlerName<M>> & JobNeedsFn<HandlerName<M>>) & JobTakesItsInput<M, Jobs, K>;
};

/**
 * What a job with `after` is handed: the result of its one parent, or an object of its parents'
 * results keyed by their names.
 *
 * @typeParam M - the handler module's type.
 * @typeParam Jobs - the pipeline's jobs.
 * @typeParam K - the job's name.
 */
export type JobGets<M, Jobs, K extends keyof Jobs> = Jobs[K] extends {
  /** The jobs this one runs after. */
  readonly after: readonly (infer Parent extends keyof Jobs & string)[];
}
  // One parent when no name differs from another (a job after the same job twice has one).
  ? [{ [P in Parent]: Exclude<Parent, P> }[Parent]] extends [never]
    ? HandlerOutput<M, JobFn<Jobs, Parent> & HandlerName<M>>
    : { [P in Parent]: HandlerOutput<M, JobFn<Jobs, P> & HandlerName<M>> }
  : never;

/**
 * Nothing to add when job `K` is a root, or its `fn` can take what its parents hand it (see
 * {@link JobGets}); else a {@link JobInputMismatch} that the job does not satisfy.
 *
 * @typeParam M - the handler module's type.
 * @typeParam Jobs - the pipeline's jobs.
 * @typeParam K - the job's name.
 */
export type JobTakesItsInput<M, Jobs, K extends keyof Jobs> = K extends PipelineRoots<Jobs> ? unknown
  : JobFn<Jobs, K> extends HandlerName<M>
    ? ([JobGets<M, Jobs, K>] extends [HandlerInput<M, JobFn<Jobs, K>>] ? unknown : JobInputMismatch<HandlerInput<M, JobFn<Jobs, K>>, JobGets<M, Jobs, K>>)
    : unknown;

/**
 * A pipeline job whose `fn` cannot take what its `after` jobs hand it: no job has this type, so
 * such a pipeline does not compile.
 *
 * @typeParam Takes - the input of the job's `fn`.
 * @typeParam Gets - what its parents hand it (see {@link JobGets}).
 */
export interface JobInputMismatch<Takes, Gets> {
  /** Never present: this type only names the problem in compiler errors. */
  readonly "this job's fn cannot take what its after jobs return": {
    /** The input of the job's `fn`. */
    takes: Takes;
    /** What its `after` jobs hand it. */
    gets: Gets;
  };
}

/**
 * A pipeline job whose name is not a handler of the module, so it must name one with `fn`.
 *
 * @typeParam Fn - the module's handler names.
 */
export interface JobNeedsFn<Fn extends string> {
  /** The handler this job runs: its name is not one, so `fn` cannot be left out. */
  readonly fn: Fn;
}

/**
 * The input of a map's items for module `M`, handler `F` and pipeline `P`.
 *
 * @typeParam M - the handler module's type.
 * @typeParam F - the `fn` option (the default export when absent).
 * @typeParam P - the `pipeline` option, or undefined.
 */
export type MapInput<M, F extends HandlerName<M>, P> = P extends Pipeline<infer Jobs> ? PipelineInput<M, Jobs> : HandlerInput<M, F>;

/**
 * What a map yields for module `M`, handler `F`, `settled` option `S` and pipeline `P`: the
 * handler's awaited result (or, with a pipeline, an object of its sinks' results), wrapped in a
 * {@link SettledResult} row when `settled: true`.
 *
 * @typeParam M - the handler module's type.
 * @typeParam F - the `fn` option.
 * @typeParam S - the `settled` option (`boolean` when not known: either shape).
 * @typeParam P - the `pipeline` option, or undefined.
 */
export type MapOutput<M, F extends HandlerName<M>, S extends boolean, P> = S extends true
  ? SettledResult<P extends Pipeline<infer Jobs> ? PipelineOutput<M, Jobs> : HandlerOutput<M, F>>
  : P extends Pipeline<infer Jobs> ? PipelineOutput<M, Jobs> : HandlerOutput<M, F>;

/**
 * The check `map()` and `transform()` make of a `pipeline` option: its every job runs a handler
 * of module `M` that takes what its `after` jobs return (see {@link JobsOfModule}). No check
 * without a pipeline.
 *
 * @typeParam M - the handler module's type.
 * @typeParam P - the `pipeline` option, or undefined.
 */
export type PipelineOfModule<M, P> = P extends Pipeline<infer Jobs> ? {
    /** The pipeline, its every job running a handler of the module that takes its parents' results. */
    readonly pipeline?: Pipeline<JobsOfModule<M, Jobs>>;
  }
  : unknown;
