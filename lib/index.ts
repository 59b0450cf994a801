// Public API of zerolb.
export { LoadBalancer, type MapOptions, type SendOptions, type CloseOptions, type WorkerPids } from "./load-balancer.js";
export type { LoadBalancerOptions, CurveOptions } from "./options.js";
export type { Result } from "./mailbox.js";
export type { SettledResult, MapProgress } from "./map.js";
export type { Stats } from "./stats.js";
export type { WorkerInfo } from "./broker.js";
export { Pipeline, type JobSpec, type Job } from "./pipeline.js";
export { createTransform, type TransformOptions, type MapSource } from "./transform.js";
export {
  parseJsonLines, jsonLineRecords, countJsonLines, JsonLinesError,
  type JsonLinesOptions, type JsonLine, type JsonLineValue, type JsonLineInvalid, type TextSource,
} from "./jsonl.js";
export { TaskContext, type SetupContext } from "./task-context.js";
export {
  ZerolbError, TaskError, TimeoutError, WorkerExitError, DependencyError, CancelledError, ClosedError,
  StartupError, BrokerError, ProtocolError, InvalidOptionError, UnsupportedValueError, type RemoteError,
} from "./errors.js";
