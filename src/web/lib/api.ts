// The HTTP client: every request carries the session's bearer token, and every failure becomes an
// ApiError with the server's stable code and message ({error: {code, message}}).

import type {
  AgentView,
  Artifact,
  AuditRecord,
  Deployment,
  Diagnostic,
  Dora,
  Me,
  Plan,
  ProjectView,
  RunPage,
  RunView,
} from './types.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Whether a failure means the token itself is no good (so the session should end). */
export function isAuthError(e: unknown): boolean {
  return e instanceof ApiError && e.status === 401;
}

export async function errorFrom(response: Response): Promise<ApiError> {
  let code = 'http_' + response.status;
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
  } catch {
    // Not JSON (a proxy's page, say): the status line is all there is.
  }
  return new ApiError(response.status, code, message);
}

/** Encodes a stage path for a URL: each segment on its own, so '/' stays a separator. */
export function stagePathUrl(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export class Api {
  constructor(
    readonly token: string,
    /** Called when the server says the token is not valid (revoked while signed in, say). */
    private readonly onUnauthorized: () => void = () => {},
  ) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, ...extra };
  }

  async raw(path: string, init: RequestInit = {}): Promise<Response> {
    const response = await fetch(path, {
      ...init,
      headers: { ...this.headers(), ...(init.headers as Record<string, string> | undefined) },
    });
    if (!response.ok) {
      const error = await errorFrom(response);
      if (error.status === 401) this.onUnauthorized();
      throw error;
    }
    return response;
  }

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    const response = await this.raw(path, signal ? { signal } : {});
    return (await response.json()) as T;
  }

  async post<T>(path: string, body: unknown = {}): Promise<T> {
    const response = await this.raw(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await response.json()) as T;
  }

  me(): Promise<Me> {
    return this.get('/api/v1/me');
  }

  projects(): Promise<{ projects: ProjectView[] }> {
    return this.get('/api/v1/projects');
  }

  project(name: string): Promise<ProjectView> {
    return this.get(`/api/v1/projects/${encodeURIComponent(name)}`);
  }

  runs(
    filter: {
      project?: string;
      status?: string;
      branch?: string;
      event?: string;
      limit?: number;
      before?: number | null;
    },
    signal?: AbortSignal,
  ): Promise<RunPage> {
    return this.get(`/api/v1/runs${query(filter)}`, signal);
  }

  run(id: string, signal?: AbortSignal): Promise<RunView> {
    return this.get(`/api/v1/runs/${encodeURIComponent(id)}`, signal);
  }

  runPlan(id: string): Promise<Plan> {
    return this.get(`/api/v1/runs/${encodeURIComponent(id)}/plan`);
  }

  explain(
    project: string,
    at: { branch?: string; sha?: string; event?: string },
    signal?: AbortSignal,
  ): Promise<{ plan?: Plan; diagnostics: Diagnostic[] }> {
    return this.get(`/api/v1/projects/${encodeURIComponent(project)}/plan${query(at)}`, signal);
  }

  trigger(
    project: string,
    input: { branch?: string; sha?: string; event?: string; vars?: Record<string, string> },
  ): Promise<RunView> {
    return this.post(`/api/v1/projects/${encodeURIComponent(project)}/runs`, input);
  }

  cancel(id: string): Promise<{ id: string; status: string }> {
    return this.post(`/api/v1/runs/${encodeURIComponent(id)}/cancel`);
  }

  rerun(id: string, fromFailed: boolean): Promise<RunView> {
    return this.post(`/api/v1/runs/${encodeURIComponent(id)}/rerun`, { fromFailed });
  }

  decide(
    id: string,
    stage: string,
    decision: 'approve' | 'reject',
    comment: string,
  ): Promise<{ decision: string; actor: string }> {
    return this.post(
      `/api/v1/runs/${encodeURIComponent(id)}/stages/${stagePathUrl(stage)}/${decision}`,
      comment ? { comment } : {},
    );
  }

  logUrl(id: string, stage: string, options: { follow?: boolean; attempt?: number } = {}): string {
    return `/api/v1/runs/${encodeURIComponent(id)}/stages/${stagePathUrl(stage)}/logs${query({ follow: options.follow ? 1 : undefined, attempt: options.attempt })}`;
  }

  /** The run's artifacts; an empty list when the server has no artifact routes (404). */
  async artifacts(id: string): Promise<Artifact[]> {
    try {
      const body = await this.get<{ artifacts?: Artifact[] }>(
        `/api/v1/runs/${encodeURIComponent(id)}/artifacts`,
      );
      return body.artifacts ?? [];
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return [];
      throw e;
    }
  }

  artifactUrl(id: string, name: string): string {
    return `/api/v1/runs/${encodeURIComponent(id)}/artifacts/${encodeURIComponent(name)}`;
  }

  deployments(
    filter: { environment?: string; project?: string; limit?: number } = {},
  ): Promise<{ current: Deployment[]; history: Deployment[] }> {
    return this.get(`/api/v1/deployments${query(filter)}`);
  }

  dora(environment: string, days: number): Promise<Dora> {
    return this.get(
      `/api/v1/environments/${encodeURIComponent(environment)}/metrics${query({ days })}`,
    );
  }

  agents(): Promise<{ agents: AgentView[] }> {
    return this.get('/api/v1/agents');
  }

  audit(after: number, limit: number): Promise<{ records: AuditRecord[] }> {
    return this.get(`/api/v1/audit${query({ after, limit })}`);
  }

  /**
   * Downloads a file that needs the token: links cannot send an Authorization header, so the
   * body is fetched and handed to the browser as a blob.
   */
  async download(url: string, fallbackName: string): Promise<void> {
    const response = await this.raw(url);
    const disposition = response.headers.get('content-disposition') ?? '';
    const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
    const name = m ? decodeURIComponent(m[1] as string) : fallbackName;
    saveBlob(await response.blob(), name);
  }
}

export function saveBlob(blob: Blob, name: string): void {
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}
