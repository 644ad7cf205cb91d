// Git webhooks from GitHub, Gitea and GitLab: verify, read the event, and decide whether the
// pipeline's triggers want a run for it.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { globMatch } from '../lang/index.js';
import type { PlanTriggers } from '../protocol/plan.js';

export type Forge = 'github' | 'gitea' | 'gitlab';

export interface HookEvent {
  readonly event: 'push' | 'tag' | 'pull_request' | 'ping' | 'other';
  readonly branch: string;
  readonly tag: string;
  readonly sha: string;
  /** The previous head of a push ('' when unknown or a new branch). */
  readonly before: string;
  /** For pull requests: the branch it targets. */
  readonly target: string;
  readonly repository: string;
  readonly deleted: boolean;
  readonly description: string;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether the request carries a valid signature (or GitLab token) for the secret. */
export function verifyHook(forge: Forge, headers: Record<string, string | string[] | undefined>, body: Buffer, secret: string): boolean {
  const h = (name: string): string => {
    const v = headers[name];
    return (Array.isArray(v) ? v[0] : v) ?? '';
  };
  const hmac = createHmac('sha256', secret).update(body).digest('hex');
  switch (forge) {
    case 'github':
      return safeEqual(h('x-hub-signature-256'), `sha256=${hmac}`);
    case 'gitea':
      return safeEqual(h('x-gitea-signature'), hmac) || safeEqual(h('x-hub-signature-256'), `sha256=${hmac}`);
    case 'gitlab':
      return h('x-gitlab-token') !== '' && safeEqual(h('x-gitlab-token'), secret);
  }
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
}

export function parseHook(forge: Forge, headers: Record<string, string | string[] | undefined>, payload: unknown): HookEvent {
  const h = (name: string): string => {
    const v = headers[name];
    return (Array.isArray(v) ? v[0] : v) ?? '';
  };
  const p = obj(payload);
  const none: HookEvent = { event: 'other', branch: '', tag: '', sha: '', before: '', target: '', repository: '', deleted: false, description: '' };
  const kind = forge === 'gitlab' ? h('x-gitlab-event') : forge === 'gitea' ? h('x-gitea-event') || h('x-github-event') : h('x-github-event');
  const repo = obj(p.repository);
  const repository = str(repo.clone_url) || str(repo.git_http_url) || str(repo.full_name) || str(obj(p.project).path_with_namespace);
  if (kind === 'ping') return { ...none, event: 'ping', repository, description: 'ping' };
  const isPush = kind === 'push' || kind === 'Push Hook' || kind === 'Tag Push Hook';
  if (isPush) {
    const ref = str(p.ref);
    const sha = str(p.after) || str(p.checkout_sha);
    const deleted = p.deleted === true || /^0+$/.test(sha);
    if (ref.startsWith('refs/tags/')) return { ...none, event: 'tag', tag: ref.slice(10), sha, repository, deleted, description: `tag ${ref.slice(10)}` };
    if (ref.startsWith('refs/heads/')) return { ...none, event: 'push', branch: ref.slice(11), sha, before: str(p.before), repository, deleted, description: `push to ${ref.slice(11)}` };
    return { ...none, repository, description: `push to ${ref}` };
  }
  if (kind === 'pull_request' || kind === 'Merge Request Hook') {
    if (forge === 'gitlab') {
      const mr = obj(p.object_attributes);
      const action = str(mr.action);
      if (!['open', 'reopen', 'update'].includes(action)) return { ...none, repository, description: `merge request ${action}` };
      return { ...none, event: 'pull_request', branch: str(mr.source_branch), target: str(mr.target_branch), sha: str(obj(mr.last_commit).id), repository, description: `merge request ${action}` };
    }
    const pr = obj(p.pull_request);
    const action = str(p.action);
    if (!['opened', 'reopened', 'synchronize', 'synchronized', 'edited'].includes(action)) return { ...none, repository, description: `pull request ${action}` };
    return { ...none, event: 'pull_request', branch: str(obj(pr.head).ref), target: str(obj(pr.base).ref), sha: str(obj(pr.head).sha), before: str(obj(pr.base).sha), repository, description: `pull request ${action}` };
  }
  return { ...none, repository, description: kind || 'unknown event' };
}

/**
 * Whether a run may be started by hand (`manual`) or by an API call (`api`): a pipeline whose
 * triggers name `manual { }` or `api { }` accepts only the ones it names; otherwise both.
 */
export function matchRequest(t: PlanTriggers, event: string): { run: boolean; reason: string } {
  if (!t.declared || (event !== 'manual' && event !== 'api')) return { run: true, reason: `${event} trigger` };
  if (event === 'manual' ? t.manual : t.api) return { run: true, reason: `${event} trigger` };
  return {
    run: false,
    reason: `the pipeline's triggers have no ${event} { }: add \`${event} { }\` to its triggers to start runs this way`,
  };
}

/** Whether the triggers want a run for the event; the reason in words either way. */
export function matchTriggers(t: PlanTriggers, e: HookEvent, changed: readonly string[]): { run: boolean; reason: string } {
  if (e.deleted) return { run: false, reason: `${e.description}: a deletion` };
  if (e.event === 'other' || e.event === 'ping') return { run: false, reason: `${e.description}: not a push, tag or pull request` };
  if (!t.declared) return { run: true, reason: 'the pipeline declares no triggers: every push, tag and pull request runs' };
  if (e.event === 'push') {
    if (!t.push) return { run: false, reason: 'the pipeline has no push trigger' };
    const branches = t.push.branches.length ? t.push.branches : ['**'];
    if (!branches.some((b) => globMatch(b, e.branch))) return { run: false, reason: `branch '${e.branch}' matches none of ${branches.join(', ')}` };
    const paths = t.push.paths;
    if (paths.length && !changed.some((f) => paths.some((p) => globMatch(p, f)))) return { run: false, reason: `no changed file matches ${paths.join(', ')}` };
    return { run: true, reason: `push to ${e.branch}` };
  }
  if (e.event === 'tag') {
    if (!t.tag) return { run: false, reason: 'the pipeline has no tag trigger' };
    const pattern = t.tag.pattern || '*';
    return globMatch(pattern, e.tag) ? { run: true, reason: `tag ${e.tag}` } : { run: false, reason: `tag '${e.tag}' does not match ${pattern}` };
  }
  if (!t.pullRequest) return { run: false, reason: 'the pipeline has no pullRequest trigger' };
  const branches = t.pullRequest.branches.length ? t.pullRequest.branches : ['**'];
  return branches.some((b) => globMatch(b, e.target)) ? { run: true, reason: `pull request into ${e.target}` } : { run: false, reason: `target branch '${e.target}' matches none of ${branches.join(', ')}` };
}
