// Request and response schemas: the same objects validate requests and generate the OpenAPI document.

import Type from 'typebox';

export const ErrorBody = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String() }) }, { $id: 'Error' });

export const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$', description: 'letters, digits, . _ - (up to 63)' });

export const ProjectInput = Type.Object(
  {
    name: Name,
    repo: Type.String({ minLength: 1, maxLength: 2000, description: 'a git URL or a local path' }),
    pipeline: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'the pipeline file in the repository (default Ottofile)' })),
    defaultBranch: Type.Optional(Type.String({ minLength: 1, maxLength: 250, description: 'default main' })),
    webhookSecret: Type.Optional(Type.String({ minLength: 8, maxLength: 500, description: 'verifies webhooks (HMAC-SHA256, or GitLab’s token)' })),
  },
  { additionalProperties: false },
);

export const Project = Type.Object({
  name: Type.String(),
  repo: Type.String(),
  pipeline: Type.String(),
  defaultBranch: Type.String(),
  webhook: Type.Boolean({ description: 'whether a webhook secret is set' }),
  createdAt: Type.String(),
});

export const RunInput = Type.Object(
  {
    branch: Type.Optional(Type.String({ minLength: 1, maxLength: 250 })),
    sha: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{4,64}$' })),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 250 })),
    event: Type.Optional(Type.Union([Type.Literal('manual'), Type.Literal('api'), Type.Literal('push'), Type.Literal('pull_request'), Type.Literal('tag'), Type.Literal('cron')])),
    vars: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' }), Type.String({ maxLength: 10_000 }))),
  },
  { additionalProperties: false },
);

export const Stage = Type.Object({
  path: Type.String(),
  status: Type.String(),
  attempt: Type.Integer(),
  startedAt: Type.Union([Type.String(), Type.Null()]),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
  durationMs: Type.Union([Type.Integer(), Type.Null()]),
  message: Type.String(),
  exitCode: Type.Union([Type.Integer(), Type.Null()]),
});

export const Run = Type.Object({
  id: Type.String(),
  project: Type.String(),
  pipeline: Type.String(),
  status: Type.String(),
  planHash: Type.String(),
  trigger: Type.Object({ event: Type.String(), branch: Type.String(), tag: Type.String(), sha: Type.String(), actor: Type.String() }, { additionalProperties: true }),
  createdAt: Type.Union([Type.String(), Type.Null()]),
  startedAt: Type.Union([Type.String(), Type.Null()]),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
  durationMs: Type.Union([Type.Integer(), Type.Null()]),
  message: Type.String(),
  rerunOf: Type.Union([Type.String(), Type.Null()]),
  stages: Type.Array(Stage),
});

export const Decision = Type.Object({ comment: Type.Optional(Type.String({ maxLength: 2000 })), override: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

export const CallbackInput = Type.Object(
  {
    status: Type.Union([Type.Literal('success'), Type.Literal('failure')]),
    message: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

export const SecretInput = Type.Object(
  {
    value: Type.String({ minLength: 1, maxLength: 65536 }),
    environment: Type.Optional(Name),
  },
  { additionalProperties: false },
);

export const RunId = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,18}$' }) });
export const ProjectName = Type.Object({ name: Name });
