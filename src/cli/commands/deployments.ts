// `otto deployments`: what is deployed where, and the history per environment.

import { EXIT, writeOut } from '../io.js';
import { deployedNow, WHOLE_HISTORY } from '../../store/index.js';
import { openStore } from '../home.js';
import { projectName } from './run.js';

export async function runDeployments(options: { json?: boolean; environment?: string; limit?: string }): Promise<number> {
  const store = openStore(process.cwd(), { create: true });
  try {
    const limit = options.limit ? Number(options.limit) : 100;
    // What is deployed now comes from the whole history, not only the part that is listed. Only
    // this project's: a shared OTTO_HOME holds others, whose 'production' is another place.
    const all = await store.listDeployments({ project: projectName(process.cwd()), ...(options.environment ? { environment: options.environment } : {}), limit: WHOLE_HISTORY });
    const list = all.slice(0, limit);
    const current = deployedNow(all);
    if (options.json) {
      writeOut(
        JSON.stringify(
          {
            current: current.map(json),
            history: list.map(json),
          },
          null,
          2,
        ),
      );
      return EXIT.ok;
    }
    if (list.length === 0) {
      writeOut('no deployments yet');
      return EXIT.ok;
    }
    writeOut('deployed now:');
    for (const d of [...current].sort((a, b) => (a.environment < b.environment ? -1 : 1))) {
      writeOut(`  ${d.environment.padEnd(16)} run ${d.runId.padEnd(5)} ${(d.sha || '-').slice(0, 12).padEnd(13)} ${(d.branch || '-').padEnd(16)} ${iso(d.at)}${d.status === 'unstable' ? '  (unstable)' : ''}`);
    }
    writeOut('\nhistory:');
    for (const d of list) writeOut(`  ${iso(d.at)}  ${d.environment.padEnd(16)} ${d.status.padEnd(10)} run ${d.runId} stage '${d.stage}' ${(d.sha || '').slice(0, 12)}`);
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

function json(d: { id: number; environment: string; runId: string; stage: string; sha: string; branch: string; status: string; at: number; startedAt: number | null }): Record<string, unknown> {
  return { id: d.id, environment: d.environment, run: d.runId, stage: d.stage, sha: d.sha, branch: d.branch, status: d.status, at: new Date(d.at).toISOString() };
}

function iso(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}
