// Notifications (slack, http, echo) after a stage ends, and deployment records. A notification that
// fails is reported as a warning; it never changes the stage's status.

import type { Plan, PlanNotification, PlanStage } from '../protocol/plan.js';
import type { Store } from '../store/store.js';
import type { Notifier } from './orchestrator.js';
import { fetchFailure, httpFetch } from '../util/http-fetch.js';

export interface NotifierOptions {
  readonly store: Store;
  readonly project: string;
  /** Looks up a secret by name (the Slack webhook URL, an http bearer token). */
  readonly secret: (name: string, environment: string) => Promise<string | undefined>;
  /** Shows what happened (a warning on the terminal, a server log line). */
  readonly report: (message: string) => void;
  readonly timeoutMs?: number;
}

export class HttpNotifier implements Notifier {
  constructor(private readonly options: NotifierOptions) {}

  async notify(plan: Plan, stage: PlanStage, outcome: 'success' | 'failure', runId: string): Promise<Array<{ kind: string; ok: boolean; message: string }>> {
    const results: Array<{ kind: string; ok: boolean; message: string }> = [];
    for (const n of stage.notify) {
      if (n.on !== outcome && n.on !== 'complete') continue;
      let r: { ok: boolean; message: string };
      try {
        r = await this.send(plan, stage, n, outcome, runId);
      } catch (e) {
        r = { ok: false, message: fetchFailure(e) };
      }
      results.push({ kind: n.kind, ...r });
      if (!r.ok) this.options.report(`warning: ${n.kind} notification for '${stage.path}' failed: ${r.message}`);
    }
    return results;
  }

  private async send(plan: Plan, stage: PlanStage, n: PlanNotification, outcome: string, runId: string): Promise<{ ok: boolean; message: string }> {
    const env = stage.environment ?? '';
    const describe = { run: runId, pipeline: plan.pipeline.name, stage: stage.path, status: outcome === 'success' ? 'succeeded' : 'failed', environment: stage.environment, branch: plan.context.branch, sha: plan.context.sha };
    switch (n.kind) {
      case 'echo':
        this.options.report(`[${stage.path}] ${n.message}`);
        return { ok: true, message: n.message };
      case 'slack': {
        const conf = plan.configure.slack ?? {};
        const url = conf.url || (await this.options.secret(conf.credential || 'SLACK_WEBHOOK_URL', env));
        if (!url) return { ok: false, message: "slack is not configured: set configure { slack { url = '…' } } or the secret SLACK_WEBHOOK_URL" };
        const channel = n.target || conf.channel || undefined;
        return this.post(url, 'POST', JSON.stringify({ text: n.message, ...(channel ? { channel } : {}) }), {});
      }
      case 'http': {
        const conf = plan.configure.http ?? {};
        const token = conf.credential ? await this.options.secret(conf.credential, env) : undefined;
        const body = n.method === 'GET' ? undefined : n.body || JSON.stringify(describe);
        return this.post(n.target, n.method || 'POST', body, token ? { authorization: `Bearer ${token}` } : {});
      }
    }
  }

  private async post(url: string, method: string, body: string | undefined, headers: Record<string, string>): Promise<{ ok: boolean; message: string }> {
    const res = await httpFetch(url, {
      method,
      headers: { 'content-type': 'application/json', 'user-agent': 'otto', ...headers },
      ...(body !== undefined ? { body } : {}),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
    await res.arrayBuffer();
    return res.ok ? { ok: true, message: `HTTP ${res.status}` } : { ok: false, message: `HTTP ${res.status} from ${new URL(url).host}` };
  }

  async recordDeployment(runId: string, plan: Plan, stage: PlanStage, status: string, at: number, startedAt: number | null): Promise<void> {
    if (!stage.environment) return;
    await this.options.store.recordDeployment({
      project: this.options.project,
      environment: stage.environment,
      runId,
      stage: stage.path,
      sha: plan.context.sha,
      branch: plan.context.branch,
      status,
      at,
      startedAt,
    });
  }
}
