// The run fields an event append may project, and their column in both SQL stores.

export const RUN_PROJECTION_COLUMNS = [
  ['status', 'status'],
  ['startedAt', 'started_at'],
  ['finishedAt', 'finished_at'],
  ['message', 'message'],
  ['owner', 'owner'],
] as const;
