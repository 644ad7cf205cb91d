// Web UI benchmark: the built UI (dist/web) in Debian's headless Chromium, served by the same
// handler `otto serve` uses, against a stand-in API with real sizes: a run of a 512-stage matrix
// plan, a 500-stage plan with parallel groups and gates, and a stage with a 100 MB log.
// Run: npm run bench ui (or node dist/bench/ui.js after npm run build).

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { chromium, type Page } from 'playwright-core';
import { serveWeb } from '../src/cli/ui-routes.js';
import { loadProgramFromSource, SourceFile } from '../src/lang/index.js';
import { compilePlan } from '../src/plan/index.js';
import type { Plan, PlanContext } from '../src/protocol/plan.js';
import { FLAGS } from '../test/ui/browser.js';
import { generateMatrixPipeline, generatePipeline } from './generate.js';
import { median, printSection, type Row } from './util.js';

const repoRoot = new URL('../../', import.meta.url).pathname;
const CHROMIUM = process.env.OTTO_CHROMIUM ?? '/usr/bin/chromium';
const context: PlanContext = {
  event: 'push',
  branch: 'main',
  tag: '',
  sha: 'a'.repeat(40),
  base: '',
  vars: {},
  changedFiles: [],
};

function plan(text: string): Plan {
  const { plan: p, diagnostics } = compilePlan(
    loadProgramFromSource(new SourceFile('Ottofile', text)),
    { context, project: 'bench', libraryPins: [] },
  );
  if (!p) throw new Error(`bench pipeline does not plan: ${diagnostics[0]?.message}`);
  return p;
}

/** A run record for a plan: the first 40% done, a few running, the rest to come. */
function runOf(id: string, p: Plan): Record<string, unknown> {
  const n = p.stages.length;
  const stages = p.stages.map((s, i) => {
    const done = i < n * 0.4;
    const running = !done && i < n * 0.4 + 3;
    const status = s.skip ? 'skipped' : done ? 'succeeded' : running ? 'running' : 'pending';
    return {
      path: s.path,
      status,
      attempt: done || running ? 1 : 0,
      startedAt: done || running ? new Date(Date.now() - 60_000).toISOString() : null,
      finishedAt: done ? new Date().toISOString() : null,
      durationMs: done ? 1234 : null,
      message: s.skip ?? '',
      exitCode: null,
    };
  });
  return {
    id,
    project: 'bench',
    pipeline: 'bench',
    status: 'running',
    planHash: p.planHash,
    trigger: { event: 'push', branch: 'main', tag: '', sha: 'a'.repeat(40), actor: 'bench' },
    createdAt: new Date().toISOString(),
    startedAt: new Date().toISOString(),
    finishedAt: null,
    durationMs: null,
    message: '',
    rerunOf: null,
    stages,
    gates: [],
  };
}

/** About `bytes` of build-log-like lines, some coloured, one 'needle' near the end. */
function bigLog(bytes: number): Buffer {
  const parts: string[] = [];
  let size = 0;
  let needle = false;
  for (let i = 1; size < bytes; i++) {
    const line =
      i % 50 === 0
        ? `\x1b[32m✓\x1b[0m test ${i} passed \x1b[2m(${i % 997} ms)\x1b[0m  src/module-${i % 313}/file-${i % 71}.test.ts\n`
        : `[${String(i).padStart(8, '0')}] compiling src/module-${i % 313}/file-${i % 71}.ts -> dist/module-${i % 313}/file-${i % 71}.js (${i % 4096} bytes)\n`;
    parts.push(line);
    size += line.length;
    if (size > bytes * 0.98 && !needle) {
      parts.push('the needle is here\n');
      needle = true;
    }
  }
  return Buffer.from(parts.join(''));
}

async function startServer(
  plans: Record<string, Plan>,
  log: Buffer,
): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ bodyLimit: 1024 * 1024 });
  app.get('/api/v1/me', async () => ({ name: 'bench', role: 'admin' }));
  app.get<{ Params: { id: string } }>('/api/v1/runs/:id', async (req) =>
    runOf(req.params.id, plans[req.params.id] as Plan),
  );
  app.get<{ Params: { id: string } }>('/api/v1/runs/:id/plan', async (req) => plans[req.params.id]);
  app.get<{ Params: { id: string } }>('/api/v1/runs/:id/artifacts', async (_req, reply) =>
    reply.status(404).send({ error: { code: 'not_found', message: 'no artifacts route' } }),
  );
  // The 100 MB log belongs to run 3; the graph runs' stages have short logs.
  app.get<{ Params: { id: string } }>('/api/v1/runs/:id/stages/*', async (req, reply) =>
    reply.type('text/plain; charset=utf-8').send(req.params.id === '3' ? log : 'building\nok\n'),
  );
  app.get('/api/v1/events', async (req, reply) => {
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    reply.raw.write('retry: 1000\n\n');
    await new Promise<void>((resolve) => req.raw.socket.once('close', () => resolve()));
    return reply;
  });
  serveWeb(app, process.env.OTTO_WEB_DIR ?? join(repoRoot, 'dist', 'web'));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

async function mark(page: Page, name: string, timeoutMs = 60_000): Promise<number> {
  await page.waitForFunction((n) => performance.getEntriesByName(n).length > 0, name, {
    timeout: timeoutMs,
  });
  return page.evaluate((n) => performance.getEntriesByName(n)[0]!.startTime, name);
}

async function graphTimes(
  page: Page,
  url: string,
  id: string,
): Promise<{ total: number; render: number; layout: number; nodes: number }> {
  await page.goto(`${url}/runs/${id}`);
  const painted = await mark(page, 'otto:graph:painted');
  const loaded = await mark(page, 'otto:run:loaded');
  const layout = await page.evaluate(
    () => performance.getEntriesByName('otto:graph:layout')[0]!.duration,
  );
  const nodes = await page.evaluate<number>(
    "document.querySelectorAll('.react-flow__node').length",
  );
  return { total: painted, render: painted - loaded, layout, nodes };
}

/** Frame gaps and long tasks while `action` runs in the page. */
async function frames(
  page: Page,
  action: () => Promise<void>,
): Promise<{ maxFrame: number; p95Frame: number; longTasks: number; longest: number }> {
  // Strings, not functions: this file is compiled without the DOM's types, and runs in the page.
  await page.evaluate(`(() => {
    window.__frames = [];
    window.__long = [];
    window.__stop = false;
    let last = performance.now();
    const tick = (t) => {
      window.__frames.push(t - last);
      last = t;
      if (!window.__stop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__long.push(e.duration);
    }).observe({ type: 'longtask' });
  })()`);
  await action();
  const r = await page.evaluate<{ frames: number[]; long: number[] }>(
    '(window.__stop = true, { frames: window.__frames.slice(1), long: window.__long })',
  );
  const sorted = [...r.frames].sort((a, b) => a - b);
  return {
    maxFrame: sorted.at(-1) ?? 0,
    p95Frame: sorted[Math.floor(sorted.length * 0.95)] ?? 0,
    longTasks: r.long.length,
    longest: Math.max(0, ...r.long),
  };
}

/** Why the UI benchmark cannot run here (no browser, no built UI), or null. */
export function uiBenchSkipReason(): string | null {
  if (!existsSync(CHROMIUM)) return `no browser at ${CHROMIUM} (apt-get install -y chromium, or set OTTO_CHROMIUM)`;
  if (!existsSync(join(repoRoot, 'dist', 'web', 'index.html'))) return 'the web UI is not built (npm run build:web)';
  return null;
}

export async function benchUi(): Promise<Row[]> {
  if (!existsSync(CHROMIUM))
    return [{ name: 'web UI', value: 'skipped', note: `no Chromium at ${CHROMIUM}` }];
  if (!existsSync(join(repoRoot, 'dist', 'web', 'index.html')))
    throw new Error('dist/web is not built: npm run build:web');
  const plans = {
    '1': plan(generateMatrixPipeline(500)),
    '2': plan(generatePipeline(500)),
    '3': plan("pipeline { stage('Build') { steps { sh 'make' } } }"),
  };
  const log = bigLog(100 * 1024 * 1024);
  const server = await startServer(plans, log);
  const profile = mkdtempSync(join(tmpdir(), 'otto-bench-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1440, height: 900 },
  });
  await browser.addInitScript("sessionStorage.setItem('otto.token', 'bench')");
  const rows: Row[] = [];
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    for (const [id, label] of [
      ['1', `3-dimension matrix, ${plans['1'].stages.length} stages`],
      ['2', `parallel groups and gates, ${plans['2'].stages.length} stages`],
    ] as const) {
      const runs = [];
      for (let i = 0; i < 4; i++) runs.push(await graphTimes(page, server.url, id));
      const warm = runs.slice(1);
      rows.push({
        name: `run page graph, ${label}: data → painted`,
        value: `${median(warm.map((r) => r.render)).toFixed(0)} ms`,
        target: '< 1000 ms',
        ok: median(warm.map((r) => r.render)) < 1000,
        note: `(layout ${median(warm.map((r) => r.layout)).toFixed(0)} ms; navigation → painted ${median(warm.map((r) => r.total)).toFixed(0)} ms, first load ${runs[0]!.total.toFixed(0)} ms; ${runs[0]!.nodes} nodes in the DOM)`,
      });
    }

    // The whole 500-stage graph on screen at once: every node rendered.
    await graphTimes(page, server.url, '2');
    const fit = await frames(page, async () => {
      await page.getByRole('button', { name: 'Fit View' }).click();
      await page.waitForTimeout(1500);
    });
    const rendered = await page.evaluate<number>(
      "document.querySelectorAll('.react-flow__node').length",
    );
    rows.push({
      name: `500-stage graph: fit the whole graph on screen (${rendered} nodes rendered)`,
      value: `worst frame ${fit.maxFrame.toFixed(0)} ms`,
      target: '< 1000 ms',
      ok: fit.maxFrame < 1000,
      note: `(${fit.longTasks} long tasks, longest ${fit.longest.toFixed(0)} ms)`,
    });

    await page.goto(`${server.url}/runs/3/stages/Build`);
    const loaded = await mark(page, 'otto:log:loaded', 120_000);
    const lines = Number(await page.getByRole('log').getAttribute('data-lines'));
    const heap = await page.evaluate(
      () =>
        (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory
          ?.usedJSHeapSize ?? 0,
    );
    rows.push({
      name: `100 MB log (${lines.toLocaleString()} lines): navigation → all loaded`,
      value: `${loaded.toFixed(0)} ms`,
      note: `(JS heap ${(heap / 1e6).toFixed(0)} MB)`,
    });
    const log = page.getByRole('log');
    await log.focus();
    const scroll = await frames(page, async () => {
      for (let i = 0; i < 40; i++) await page.keyboard.press('PageDown');
      for (let i = 0; i < 40; i++) await page.mouse.wheel(0, 400);
      const box = await log.boundingBox();
      if (box) await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      for (let i = 0; i < 40; i++) await page.mouse.wheel(0, -300);
      for (const f of [0.25, 0.5, 0.9, 0.1]) {
        await log.evaluate((el, frac) => {
          const e = el as unknown as {
            scrollTop: number;
            scrollHeight: number;
            clientHeight: number;
          };
          e.scrollTop = (e.scrollHeight - e.clientHeight) * frac;
        }, f);
        await page.waitForTimeout(50);
      }
      await page.keyboard.press('End');
      await page.waitForTimeout(50);
      await page.keyboard.press('Home');
      await page.waitForTimeout(100);
    });
    rows.push({
      name: '100 MB log: scrolling (keys, wheel, scrollbar jumps)',
      value: `worst frame ${scroll.maxFrame.toFixed(0)} ms`,
      target: 'no frame > 100 ms',
      ok: scroll.maxFrame < 100,
      note: `(p95 frame ${scroll.p95Frame.toFixed(0)} ms; ${scroll.longTasks} long tasks, longest ${scroll.longest.toFixed(0)} ms)`,
    });
    const t = Date.now();
    await page.getByRole('searchbox', { name: 'Search the log' }).fill('needle');
    await page.getByRole('searchbox', { name: 'Search the log' }).press('Enter');
    await page.locator('.log-line.current-match').waitFor({ timeout: 60_000 });
    rows.push({ name: '100 MB log: search to the one match', value: `${Date.now() - t} ms` });
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
    await server.close();
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === '--serve') {
    // The stand-in server alone, for profiling by hand (OTTO_WEB_DIR: an unminified build).
    const server = await startServer(
      { '1': plan(generateMatrixPipeline(500)), '2': plan(generatePipeline(500)) },
      bigLog(Number(process.argv[3] ?? 1) * 1024 * 1024),
    );
    console.log(server.url);
  } else printSection('Web UI (headless Chromium)', await benchUi());
}
