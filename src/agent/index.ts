// The agent: runs stage manifests as processes, with masked, batched logs; and the local stdio agent.

export { runJob, type RunJobOptions } from './runner.js';
export {
  runProcess,
  shellArgv,
  type ProcessSpec,
  type ProcessResult,
  type OutputStream,
} from './process.js';
export { Masker, MaskStream, secretForms, MIN_SECRET_LENGTH, MASK } from './masking.js';
export { LogBatcher, type LogBatcherOptions, type LogStream } from './log-batcher.js';
export { StdioAgent, detectCapabilities, type StdioAgentOptions } from './stdio-agent.js';
export { INVOCATION_ENV } from './step.js';
export {
  NO_OBJECTS_MESSAGE,
  type ObjectOps,
  type ObjectOpContext,
  type ObjectOpResult,
  type ArtifactRecord,
  type StoreOp,
  type FetchOp,
  type CacheRestoreOp,
  type CacheSaveOp,
} from './object-ops.js';
export { benchMasking, type MaskingBenchOptions } from './masking-bench.js';
export {
  benchCapture,
  type CaptureBenchOptions,
  type CaptureBenchResult,
} from './capture-bench.js';
