// Workspaces on a remote agent: the agent prepares them itself (in local mode the orchestrator
// does), at <workDir>/runs/<run>/<stage slug>, from the job's source commit or from the workspace
// an earlier job of the run left on this agent (`runtime { from }`).

import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { AssignedJob } from '../../protocol/agent-http.js';
import { GitMirrors, redactUrls } from './git-mirror.js';
import { jobFileName, pathSlug, runDirName } from './paths.js';

/** A server's run id (a number), the only kind of run directory the agent reports and removes. */
const RUN_ID = /^[1-9][0-9]{0,17}$/;

export interface PreparedWorkspace {
  readonly dir: string;
  /** Lines for the stage log: where the files came from and how long it took. */
  readonly lines: readonly string[];
}

/** What the agent remembers of a job's workspace, so a later job can start from it. */
interface WorkspaceRecord {
  readonly jobId: string;
  readonly stage: string;
  readonly dir: string;
}

export class AgentWorkspaces {
  private readonly mirrors: GitMirrors;
  private readonly jobsDir: string;

  constructor(
    private readonly workDir: string,
    private readonly agentName: string,
    fetchTimeoutMs: number,
  ) {
    this.mirrors = new GitMirrors(join(workDir, 'repos'), join(workDir, 'tmp'), fetchTimeoutMs);
    this.jobsDir = join(workDir, 'jobs');
  }

  dirFor(runId: string, stagePath: string): string {
    return join(this.workDir, 'runs', runDirName(runId), pathSlug(stagePath));
  }

  /** Prepares the job's workspace afresh (a new attempt starts clean). Throws with a message for the stage log. */
  async prepare(assigned: AssignedJob, signal: AbortSignal): Promise<PreparedWorkspace> {
    const { job, source, workspaceFrom } = assigned;
    const dir = this.dirFor(job.runId, job.stagePath);
    const started = performance.now();
    const elapsed = (): string => `${Math.round(performance.now() - started)} ms`;
    // The earlier workspace is looked up before anything is removed: with a bad record, nothing is lost.
    const from =
      workspaceFrom !== null ? await this.recorded(workspaceFrom.jobId, workspaceFrom.stage) : null;
    if (from !== null && from.dir === dir)
      throw new Error(`stage ${job.stagePath} cannot start from its own workspace`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dirname(dir), { recursive: true });
    let line: string;
    if (from !== null) {
      await copyTree(from.dir, dir, signal);
      line = `workspace: a copy of stage ${from.stage}'s (${from.dir}), made in ${elapsed()}`;
    } else {
      const r = await this.mirrors.checkout(source.repo, source.sha, dir, signal);
      const how =
        r.fetchMs === null
          ? 'already fetched'
          : `${r.cloned ? 'cloned' : 'fetched'} in ${r.fetchMs} ms`;
      line = `workspace: ${redactUrls(source.repo)} at ${source.sha} (${how}; ready in ${elapsed()})`;
    }
    await this.record({ jobId: job.jobId, stage: job.stagePath, dir });
    return { dir, lines: [line] };
  }

  /** Runs with workspaces here (their ids, as servers give them), but for those in `busy`. */
  heldRuns(busy: ReadonlySet<string>): string[] {
    try {
      return readdirSync(join(this.workDir, 'runs')).filter((n) => RUN_ID.test(n) && !busy.has(n));
    } catch {
      return [];
    }
  }

  /** Removes the workspaces of these runs and the records of their jobs; returns the runs removed. */
  async pruneRuns(runIds: readonly string[], busy: ReadonlySet<string>): Promise<string[]> {
    const gone = new Set<string>();
    for (const id of runIds) {
      if (!RUN_ID.test(id) || busy.has(id)) continue;
      const dir = join(this.workDir, 'runs', runDirName(id));
      if (!existsSync(dir)) continue;
      await rm(dir, { recursive: true, force: true });
      gone.add(id);
    }
    if (gone.size === 0) return [];
    let names: string[] = [];
    try {
      names = await readdir(this.jobsDir);
    } catch {
      // no records
    }
    for (const name of names) {
      try {
        const r = JSON.parse(await readFile(join(this.jobsDir, name), 'utf8')) as WorkspaceRecord;
        if (gone.has(r.jobId.slice(0, r.jobId.indexOf('/')))) await rm(join(this.jobsDir, name), { force: true });
      } catch {
        // a record being written or unreadable: left for the next time
      }
    }
    return [...gone];
  }

  private async record(r: WorkspaceRecord): Promise<void> {
    await mkdir(this.jobsDir, { recursive: true });
    await writeFile(join(this.jobsDir, `${jobFileName(r.jobId)}.json`), `${JSON.stringify(r)}\n`);
  }

  private async recorded(jobId: string, stage: string): Promise<WorkspaceRecord> {
    const missing = (why: string): Error =>
      new Error(
        `this stage starts from the workspace of stage ${stage} (job ${jobId}), but ${why} on agent ${this.agentName}`,
      );
    let r: WorkspaceRecord;
    try {
      r = JSON.parse(
        await readFile(join(this.jobsDir, `${jobFileName(jobId)}.json`), 'utf8'),
      ) as WorkspaceRecord;
    } catch {
      throw missing('that job did not run');
    }
    if (r.jobId !== jobId || !existsSync(r.dir)) throw missing(`its workspace ${r.dir} is gone`);
    return r;
  }
}

/** Copies a directory tree with the system's cp (fast, keeps modes and links), else in-process. */
async function copyTree(from: string, to: string, signal: AbortSignal): Promise<void> {
  const viaCp = await new Promise<boolean>((resolve) => {
    execFile('cp', ['-a', '--reflink=auto', '--', `${from}/.`, to], { signal }, (error) =>
      resolve(error === null),
    );
  });
  signal.throwIfAborted();
  if (viaCp) return;
  await rm(to, { recursive: true, force: true });
  await cp(from, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
}
