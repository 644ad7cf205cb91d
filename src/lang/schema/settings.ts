// Every block of settings the language knows, with each setting's type and meaning.

import type { BlockSpec, ParamSpec } from './types.js';

const TIMEOUT: ParamSpec = { name: 'timeout', type: 'duration', default: "'1h'", description: 'time limit for the whole stage; its steps inherit it' };

export const STAGE: BlockSpec = {
  name: 'stage',
  description: 'a stage',
  settings: [
    { name: 'name', type: 'string', description: 'display name and path segment', default: 'stage-N' },
    TIMEOUT,
    { name: 'retry', type: 'integer', min: 0, default: '0', description: "extra attempts of the stage's steps after a failure" },
    { name: 'credentials', type: 'strings', description: 'secrets injected as environment variables into this stage only' },
    { name: 'concurrency', type: 'string', description: 'a named lock across runs; later runs queue in order (never cancelled)' },
    { name: 'allowFailure', type: 'boolean', default: 'false', description: 'a failure marks the stage unstable and the run goes on' },
  ],
};

export const PARALLEL: BlockSpec = {
  name: 'parallel',
  description: 'stages that run at the same time',
  settings: [
    { name: 'failFast', type: 'boolean', default: 'true', description: 'cancel the other branches when one fails' },
  ],
};

export const PIPELINE: BlockSpec = {
  name: 'pipeline',
  description: 'the pipeline',
  settings: [
    { name: 'name', type: 'string', description: 'the pipeline name shown in runs', default: 'the project name' },
    { name: 'timeout', type: 'duration', default: "'24h'", description: 'time limit for a whole run, waits included' },
    { name: 'concurrency', type: 'string', description: 'a named lock held by the whole run; later runs queue in order' },
  ],
};

export const BLUEPRINT: BlockSpec = {
  name: 'blueprint',
  description: 'a reusable pipeline',
  settings: [
    { name: 'name', type: 'string', description: 'the name pipelines use in from', default: 'the file name' },
    { name: 'description', type: 'string', description: 'what the blueprint is for' },
  ],
};

export const ENVIRONMENT: BlockSpec = {
  name: 'environment',
  description: 'a delivery target',
  settings: [
    { name: 'credentials', type: 'strings', description: 'secrets bound to every stage that deploys here' },
    { name: 'url', type: 'string', description: 'where the environment can be seen' },
    { name: 'description', type: 'string', description: 'what the environment is' },
  ],
};

export const RUNTIMES: readonly BlockSpec[] = [
  { name: 'local', description: 'processes in the agent workspace (the default)', settings: [] },
  {
    name: 'sandbox',
    description: 'bubblewrap isolation of the filesystem',
    settings: [{ name: 'network', type: 'boolean', default: 'true', description: 'allow network access' }],
  },
  {
    name: 'docker',
    description: 'a container',
    settings: [
      { name: 'image', type: 'string', required: true, description: 'the image' },
      { name: 'args', type: 'strings', description: 'extra arguments for docker run' },
    ],
  },
  {
    name: 'computer',
    description: 'an agent that carries a label',
    settings: [{ name: 'label', type: 'string', required: true, description: 'the agent label' }],
  },
  {
    name: 'kubernetes',
    description: 'a pod',
    settings: [
      { name: 'image', type: 'string', required: true, description: 'the image' },
      { name: 'namespace', type: 'string', description: 'the namespace' },
    ],
  },
  {
    name: 'microvm',
    description: 'a Firecracker micro-VM',
    settings: [{ name: 'image', type: 'string', required: true, description: 'the image' }],
  },
];

export const CACHE_LONG: BlockSpec = {
  name: 'cache',
  description: 'a named cache (long form)',
  settings: [
    { name: 'paths', type: 'strings', required: true, description: 'paths to save, relative to the workspace' },
    { name: 'key', type: 'string-or-strings', description: 'file(s) whose content hash becomes part of the cache key' },
    { name: 'save', type: 'string', choices: ['success', 'always'], default: "'success'", description: 'when to save' },
  ],
};

export const TRIGGERS: BlockSpec = {
  name: 'triggers',
  description: 'what starts a run in server mode',
  settings: [{ name: 'cron', type: 'cron', description: 'a schedule (five-field cron, or @daily …); an array for several' }],
  blocks: [
    {
      name: 'push',
      description: 'a push to a branch',
      settings: [
        { name: 'branches', type: 'strings', default: 'all branches', description: 'branch globs' },
        { name: 'paths', type: 'strings', description: 'only when a changed file matches one of these globs' },
      ],
    },
    {
      name: 'pullRequest',
      description: 'a pull request opened or updated',
      settings: [{ name: 'branches', type: 'strings', default: 'all branches', description: 'target branch globs' }],
    },
    {
      name: 'tag',
      description: 'a tag pushed',
      settings: [{ name: 'pattern', type: 'string', default: "'*'", description: 'a tag glob' }],
    },
    { name: 'manual', description: 'a person starts the run', settings: [] },
    { name: 'api', description: 'an API call starts the run', settings: [] },
  ],
};

export const WEBHOOK_BLOCK: BlockSpec = {
  name: 'webhook',
  description: 'waits for an external system to call back',
  settings: [
    { name: 'description', type: 'string', description: 'what the run waits for' },
    { name: 'timeout', type: 'duration', default: "'24h'", description: 'how long to wait' },
  ],
};

export const POLL_BLOCK: BlockSpec = {
  name: 'poll',
  description: 'requests a URL until it answers as expected',
  settings: [
    { name: 'url', type: 'string', required: true, description: 'the http(s) URL' },
    { name: 'expect', type: 'integer', default: '200', description: 'the HTTP status that passes' },
    { name: 'contains', type: 'string', description: 'text the body must contain' },
    { name: 'interval', type: 'duration', default: "'10s'", description: 'time between requests' },
    { name: 'timeout', type: 'duration', default: "'5m'", description: 'how long to keep trying' },
  ],
};

export const INPUT_BLOCK: BlockSpec = {
  name: 'input',
  description: 'waits for a person',
  settings: [
    { name: 'message', type: 'string', required: true, description: 'the question' },
    { name: 'approvers', type: 'strings', description: 'who may answer' },
    { name: 'timeout', type: 'duration', default: "'24h'", description: 'how long to wait' },
  ],
};

/** What `configure { … }` can configure in the standard library. */
export const CONFIGURE: readonly BlockSpec[] = [
  {
    name: 'slack',
    description: 'where slack steps post',
    settings: [
      { name: 'channel', type: 'string', description: "the default channel, such as '#deploys'" },
      { name: 'url', type: 'string', description: 'an incoming-webhook URL (or use the credential)' },
      { name: 'credential', type: 'string', description: 'a secret holding the webhook URL', default: "'SLACK_WEBHOOK_URL'" },
    ],
  },
  {
    name: 'http',
    description: 'defaults for http steps',
    settings: [{ name: 'credential', type: 'string', description: 'a secret sent as a bearer token' }],
  },
];

export const VAR_TYPES = ['string', 'boolean', 'number', 'array'] as const;
export const VAR_PROPS = ['type', 'default', 'description'] as const;
