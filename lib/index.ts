// Public API of zerolb. What a caller imports: no worker or broker code loads with it (their
// processes load their own entries), and handler authors get types only.
export { LoadBalancer, type WorkerPids } from "./caller/load-balancer.js";
export { type MapOptions, type SendOptions, type CloseOptions } from "./caller/call-options.js";
export type { LoadBalancerOptions, CurveOptions } from "./caller/options.js";
export type { Result } from "./caller/mailbox.js";
export type { SettledResult, MapProgress } from "./caller/map-types.js";
export type { Stats } from "./caller/stats.js";
export type { LoadBalancerEvents, WorkerJoinEvent, WorkerExitEvent, RetryEvent, BrokerRestartEvent } from "./caller/events.js";
export type { WorkerInfo } from "./wire/stats.js";
export { Pipeline, type JobSpec, type Job, type PipelineJobs } from "./caller/pipeline.js";
export type {
  UntypedModule, ModuleWorkerData, HandlerName, DefaultHandlerName, NoDefaultExportPassFn, HandlerInput, HandlerOutput, AnyHandlerOutput,
  PipelineSinks, PipelineRoots, PipelineParents, JobFn, PipelineInput, PipelineOutput, JobsOfModule, JobNeedsFn, JobGets, JobTakesItsInput, JobInputMismatch, PipelineOfModule, MapInput, MapOutput,
} from "./caller/module-types.js";
export { createTransform, type TransformOptions, type MapSource } from "./caller/transform.js";
export {
  parseJsonLines, jsonLineRecords, countJsonLines,
  type JsonLinesOptions, type JsonLine, type JsonLineValue, type JsonLineInvalid, type TextSource,
} from "./caller/jsonl.js";
export type { HandlerContext, TaskContext, SetupContext, Handler, Setup, Teardown } from "./shared/handler-types.js";
export {
  ZerolbError, TaskError, TimeoutError, WorkerExitError, DependencyError, CancelledError, ClosedError,
  StartupError, BrokerError, ProtocolError, InvalidOptionError, UnsupportedValueError, JsonLinesError,
} from "./shared/errors.js";
export type { RemoteError } from "./wire/error-wire.js";
