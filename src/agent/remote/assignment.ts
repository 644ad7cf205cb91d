// Checks an assignment from the server before the agent acts on it: a malformed one (a server bug,
// a newer protocol) fails its stage with a message instead of crashing the agent.

import { AGENT_PROTOCOL_VERSION } from '../../protocol/agent.js';

/** The job id of something that should be an AssignedJob, or null when it has none. */
export function assignedJobId(x: unknown): string | null {
  const job = (x as { job?: { jobId?: unknown } } | null)?.job;
  return typeof job?.jobId === 'string' && job.jobId !== '' ? job.jobId : null;
}

/** Why `x` is not an AssignedJob this agent can run, or null. */
export function assignmentProblem(x: unknown): string | null {
  if (!isObject(x)) return 'the assignment is not an object';
  if (!isObject(x.job)) return 'the assignment has no job';
  const j = x.job;
  if (j.protocol !== AGENT_PROTOCOL_VERSION)
    return `the job speaks agent protocol ${String(j.protocol)}; this agent speaks ${AGENT_PROTOCOL_VERSION}`;
  for (const key of ['jobId', 'runId', 'stagePath'] as const) {
    if (typeof j[key] !== 'string' || j[key] === '') return `job.${key} must be a non-empty string`;
  }
  if (!Array.isArray(j.ops)) return 'job.ops must be an array';
  for (const key of ['secrets', 'baseEnv'] as const) {
    if (!isObject(j[key])) return `job.${key} must be an object`;
  }
  if (!Array.isArray(j.maskValues)) return 'job.maskValues must be an array';
  for (const key of ['timeoutMs', 'graceMs', 'attempt'] as const) {
    if (typeof j[key] !== 'number') return `job.${key} must be a number`;
  }
  if (!isObject(x.source) || typeof x.source.repo !== 'string' || typeof x.source.sha !== 'string')
    return 'the assignment needs source.repo and source.sha';
  const from = x.workspaceFrom;
  if (
    from !== null &&
    (!isObject(from) || typeof from.stage !== 'string' || typeof from.jobId !== 'string')
  )
    return 'workspaceFrom must be null or {stage, jobId}';
  return null;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
