// Public API of zerolb.
export { LoadBalancer, type WorkerPids } from "./caller/load-balancer.js";
export { type MapOptions, type SendOptions, type CloseOptions } from "./caller/call-options.js";
export type { LoadBalancerOptions, CurveOptions } from "./caller/options.js";
export type { Result } from "./caller/mailbox.js";
export type { SettledResult, MapProgress } from "./caller/map-types.js";
export type { Stats } from "./caller/stats.js";
export type { LoadBalancerEvents, WorkerJoinEvent, WorkerExitEvent, RetryEvent, BrokerRestartEvent } from "./caller/events.js";
export type { WorkerInfo } from "./wire/stats.js";
export { Pipeline, type JobSpec, type Job } from "./caller/pipeline.js";
export { createTransform, type TransformOptions, type MapSource } from "./caller/transform.js";
export {
  parseJsonLines, jsonLineRecords, countJsonLines,
  type JsonLinesOptions, type JsonLine, type JsonLineValue, type JsonLineInvalid, type TextSource,
} from "./caller/jsonl.js";
export { TaskContext, type SetupContext } from "./worker/task-context.js";
export {
  ZerolbError, TaskError, TimeoutError, WorkerExitError, DependencyError, CancelledError, ClosedError,
  StartupError, BrokerError, ProtocolError, InvalidOptionError, UnsupportedValueError, JsonLinesError,
} from "./shared/errors.js";
export type { RemoteError } from "./wire/error-wire.js";
