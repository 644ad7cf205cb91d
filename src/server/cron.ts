// Cron triggers: each project's pipeline on its default branch says when to run; re-read every
// few minutes, so edits to the schedule take effect.

import { Cron } from 'croner';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { planFile } from '../plan/index.js';
import type { Store } from '../store/store.js';
import type { Scheduler } from './scheduler.js';
import { Sources } from './source.js';

export class CronTriggers {
  private readonly jobs = new Map<string, Cron[]>();
  private timer: NodeJS.Timeout | undefined;
  private readonly sources: Sources;

  constructor(
    private readonly store: Store,
    private readonly scheduler: Scheduler,
    private readonly dataDir: string,
    private readonly log: (m: string) => void,
  ) {
    this.sources = new Sources(dataDir);
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), 5 * 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const list of this.jobs.values()) for (const j of list) j.stop();
    this.jobs.clear();
  }

  /** Reads every project's schedule from its default branch. */
  async refresh(): Promise<void> {
    for (const p of await this.store.listProjects()) {
      let schedules: readonly string[];
      const dir = join(this.dataDir, 'checkouts', `cron-${p.name}-${process.pid}`);
      try {
        await this.sources.fetch(p.name, p.repo);
        const sha = this.sources.resolve(p.name, { branch: p.defaultBranch });
        await this.sources.checkout(p.name, sha, dir);
        schedules = planFile(join(dir, p.pipeline), { event: 'cron', branch: p.defaultBranch, sha }, undefined, p.name).plan?.pipeline.triggers.cron ?? [];
      } catch {
        schedules = [];
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      for (const j of this.jobs.get(p.name) ?? []) j.stop();
      this.jobs.set(
        p.name,
        schedules.map(
          (expr) =>
            new Cron(expr, { timezone: 'UTC', protect: true }, () => {
              void this.scheduler.trigger(p.name, { event: 'cron', branch: p.defaultBranch, actor: 'cron' }).then(
                (run) => this.log(`cron '${expr}': project ${p.name} run ${run.id}`),
                (e: Error) => this.log(`cron '${expr}': project ${p.name} could not start a run: ${e.message}`),
              );
            }),
        ),
      );
    }
  }
}
