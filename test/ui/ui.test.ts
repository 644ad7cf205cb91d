// The web UI end to end: headless Chromium against a real `otto serve` and a real `otto agent`.
// Signs in, triggers a run, watches its stages change live (through a cut connection), reads a
// log, approves a gate, sees the run finish and the deployment on the environments page; a viewer
// sees no approve button and the API refuses it anyway. Screenshots go to test-output/ui/.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from '../helpers.js';
import { type Browser, launch, noBrowser, shot, unnamedControls } from './browser.js';
import { sleep, UiEnv, waitFor } from './ui-env.js';

const webBuilt = existsSync(join(repoRoot, 'dist', 'web', 'index.html'));

const OTTOFILE = `environments {
  staging { url = 'https://staging.example.com' }
  production { url = 'https://example.com' }
}

pipeline {
  name = 'shop'
  stage('Build') {
    steps {
      sh 'printf "\\033[1;32mcompiling\\033[0m the shop\\n"; i=1; while [ $i -le 300 ]; do echo "build line $i"; i=$((i+1)); done; sleep 4; echo "needle-in-the-log"'
      sh 'mkdir -p dist && echo "<h1>shop</h1>" > dist/index.html'
      archive 'dist/**', name: 'site'
    }
  }
  parallel {
    stage('Unit') { steps { sh 'sleep 3; echo unit tests passed' } }
    stage('Lint') { steps { sh 'echo lint ok' } }
  }
  stage('Staging') {
    environment -> staging
    steps { sh 'echo deployed to staging' }
  }
  stage('Production') {
    gates { enter { input 'Release to production?' } }
    environment -> production
    steps { sh 'echo deployed to production' }
  }
  stage('Docs') {
    when { branch == 'docs' }
    steps { sh 'echo docs' }
  }
}
`;

/**
 * Screenshots the docs show (docs/ui.md): with OTTO_UI_DOCS=1 they are copied to docs/ui/, made
 * smaller by pngquant where it is installed.
 */
const DOCS_SHOTS = [
  'sign-in',
  'projects',
  'project',
  'explain',
  'run-waiting',
  'log',
  'run-dark',
  'environments',
  'agents',
  'audit',
];

async function signIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.locator('#token, .who').first().waitFor();
  if (await page.getByRole('button', { name: 'Sign out' }).count())
    await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Projects' }).waitFor();
}

const stageNode = (page: Page, path: string) => page.locator(`.stage-node[data-stage="${path}"]`);

async function stageStatus(page: Page, path: string): Promise<string | null> {
  return stageNode(page, path)
    .getAttribute('data-status', { timeout: 1000 })
    .catch(() => null);
}

/** The last event number of a run, read from its event stream until it goes quiet. */
async function lastSeq(env: UiEnv, runId: string): Promise<number> {
  const controller = new AbortController();
  const res = await fetch(`${env.serverUrl}/api/v1/events?run=${runId}`, {
    headers: { authorization: `Bearer ${env.tokens.viewer}` },
    signal: controller.signal,
  });
  let text = '';
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const next = await Promise.race([reader.read(), sleep(800).then(() => null)]);
    if (!next || next.done) break;
    text += decoder.decode(next.value, { stream: true });
  }
  controller.abort();
  return Math.max(0, ...[...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])));
}

describe('web UI in Chromium against otto serve and otto agent', { skip: noBrowser }, () => {
  const env = new UiEnv();
  let browser: Browser;
  let operator: Page;
  let viewer: Page;
  let runId = '';

  before(async () => {
    assert.ok(
      webBuilt,
      'dist/web is not built: run `npm run build:web` (npm ci and npm run build do it)',
    );
    env.makeTokens();
    await env.startServer();
    await env.startAgent('agent-1');
    const repo = env.repo('shop', { Ottofile: OTTOFILE });
    const created = await env.api('admin', 'POST', '/api/v1/projects', { name: 'shop', repo });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    browser = await launch();
    // sessionStorage is per tab: each page is its own signed-in session.
    operator = await browser.context.newPage();
    viewer = await browser.context.newPage();
    for (const p of [operator, viewer])
      p.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  });

  after(async () => {
    await browser?.close();
    await env.close();
    if (process.env.OTTO_UI_DOCS === '1') {
      mkdirSync(join(repoRoot, 'docs', 'ui'), { recursive: true });
      for (const name of DOCS_SHOTS) {
        const from = join(repoRoot, 'test-output', 'ui', `${name}.png`);
        const to = join(repoRoot, 'docs', 'ui', `${name}.png`);
        if (!existsSync(from)) continue;
        const small = spawnSync(
          'pngquant',
          ['--force', '--quality', '60-90', '--output', to, from],
          { stdio: 'ignore' },
        );
        if (small.status !== 0) copyFileSync(from, to);
      }
    }
  });

  it('refuses a wrong token and an agent token with a clear message, then signs in', async () => {
    const page = operator;
    await page.goto(`${env.url}/runs/1`);
    await page.getByLabel('API token').fill('otto_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
    await shot(page, 'sign-in');
    await page.getByLabel('API token').fill(env.tokens.agent);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /agent token/i })
      .waitFor();
    await signIn(page, env.url, env.tokens.operator);
    assert.equal(await page.locator('.me').innerText(), 'oscar operator');
    // An operator has no audit log in the navigation.
    assert.equal(await page.getByRole('link', { name: 'Audit log' }).count(), 0);
  });

  it('lists projects, and an operator triggers a run that the page then follows live', async () => {
    const page = operator;
    await page.getByRole('link', { name: 'shop' }).click();
    await page.getByRole('heading', { name: 'shop' }).waitFor();
    await page.getByRole('button', { name: 'Trigger a run' }).click();
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/\/runs\/\d+$/);
    runId = /\/runs\/(\d+)/.exec(page.url())![1] as string;
    await page.locator('.live-badge[data-state="live"]').waitFor();
    // Choosing Build in the graph shows its log, followed while it runs.
    await stageNode(page, 'Build').getByRole('link').click();
    await page.waitForURL(/\/stages\/Build$/);
    await stageNode(page, 'Build')
      .and(page.locator('[data-status="running"]'))
      .waitFor()
      .catch(async (e: Error) => {
        // Seen once in CI (not reproduced since): say what the page and the server showed.
        const server = await env.api('viewer', 'GET', `/api/v1/runs/${runId}`);
        const stages = (server.json.stages as Array<{ path: string; status: string }>).map((x) => `${x.path}=${x.status}`).join(' ');
        const badge = await page.locator('.live-badge').getAttribute('data-state', { timeout: 1000 }).catch(() => '?');
        throw new Error(`${e.message}\npage: Build ${await stageStatus(page, 'Build')}, stream ${badge}, visibility ${await page.evaluate('document.visibilityState')}\nserver: run ${server.json.status as string}; ${stages}`);
      });
    await page.getByRole('log').filter({ hasText: 'build line 300' }).waitFor();
    assert.equal(
      await page.getByRole('button', { name: 'Following' }).getAttribute('aria-pressed'),
      'true',
    );
  });

  it('loses no events and no log lines when the connection drops', async () => {
    const page = operator;
    // Build is asleep before its last line: cut every connection (event stream, followed log).
    const cut = env.proxy!.drop();
    assert.ok(cut > 0, 'the page had open connections');
    await waitFor(
      'the event stream to reconnect',
      async () =>
        Number(await page.locator('.live-badge').getAttribute('data-connections')) >= 2 &&
        (await page.locator('.live-badge').getAttribute('data-state')) === 'live',
      10_000,
    );
    await page.getByRole('log').filter({ hasText: 'needle-in-the-log' }).waitFor();
    const serverLog = (await env.api('viewer', 'GET', `/api/v1/runs/${runId}/stages/Build/logs`))
      .json as string;
    const expected = serverLog
      .split('\n')
      .filter((l, i, all) => i < all.length - 1 || l !== '').length;
    await waitFor(
      'the log to show every line once',
      async () => Number(await page.getByRole('log').getAttribute('data-lines')) === expected,
      10_000,
    );
  });

  it('shows stage states change live, within about a second of the server', async () => {
    const page = operator;
    const seen = new Set<string>();
    // Unit sleeps for 3 s: the page must show it running, then succeeded, without a reload.
    await waitFor(
      'Unit to run and succeed on the page',
      async () => {
        const s = await stageStatus(page, 'Unit');
        if (s) seen.add(s);
        return s === 'succeeded';
      },
      20_000,
      50,
    );
    assert.ok(seen.has('running'), `Unit was seen ${[...seen].join(', ')}`);
    // Latency: how long after the server says Staging succeeded does the page show it?
    const serverAt = await waitFor(
      'the server to finish Staging',
      async () => {
        const r = await env.api('viewer', 'GET', `/api/v1/runs/${runId}`);
        return r.json.stages.find((s: { path: string; status: string }) => s.path === 'Staging')
          ?.status === 'succeeded'
          ? Date.now()
          : false;
      },
      20_000,
      20,
    );
    await stageNode(page, 'Staging').and(page.locator('[data-status="succeeded"]')).waitFor();
    const lag = Date.now() - serverAt;
    process.stderr.write(`ui: the page showed Staging succeeded ${lag} ms after the API did\n`);
    assert.ok(lag < 3000, `the page lagged ${lag} ms behind the server`);
  });

  it('shows the gate as its own node and what it waits for; the page holds every event', async () => {
    const page = operator;
    await page
      .locator('.gate-node[data-gate="Production:enter:0"][data-status="waiting"]')
      .waitFor();
    await page.locator('.gates .gate.open').filter({ hasText: 'Release to production?' }).waitFor();
    await page.getByRole('button', { name: 'Approve' }).waitFor();
    const seq = await lastSeq(env, runId);
    await waitFor(
      'the page to hold every event',
      async () => Number(await page.locator('.live-badge').getAttribute('data-seq')) === seq,
      5000,
    );
    assert.equal(await stageStatus(page, 'Docs'), 'skipped');
    assert.deepEqual(await unnamedControls(page), []);
    await shot(page, 'run-waiting');
  });

  it('shows a viewer no approve button, and the API refuses a viewer anyway', async () => {
    await signIn(viewer, env.url, env.tokens.viewer);
    await viewer.goto(`${env.url}/runs/${runId}`);
    await viewer
      .locator('.gates .gate.open')
      .filter({ hasText: 'Release to production?' })
      .waitFor();
    assert.equal(await viewer.getByRole('button', { name: 'Approve' }).count(), 0);
    assert.equal(await viewer.getByRole('button', { name: 'Reject' }).count(), 0);
    assert.equal(await viewer.getByRole('button', { name: 'Cancel run' }).count(), 0);
    await viewer.getByText('An operator decides this').waitFor();
    const refused = await env.api(
      'viewer',
      'POST',
      `/api/v1/runs/${runId}/stages/Production/approve`,
      { comment: 'sneaky' },
    );
    assert.equal(refused.status, 403);
  });

  it('approves the gate with a comment, shows who decided, and sees the run finish', async () => {
    const page = operator;
    await page.getByLabel('Comment (optional)').fill('ship it');
    await page.getByRole('button', { name: 'Approve' }).click();
    const decided = page.locator('.gate.decided[data-decision="approved"]');
    await decided.waitFor();
    assert.match(await decided.innerText(), /by oscar/);
    assert.match(await decided.innerText(), /ship it/);
    await page
      .locator(`main[data-run="${runId}"][data-status="succeeded"]`)
      .waitFor({ timeout: 20_000 });
    await page.locator('.live-badge[data-state="closed"]').waitFor();
    // Artifacts: listed and downloadable where the server has the routes, "No artifacts." where not.
    const listed = await env.api('viewer', 'GET', `/api/v1/runs/${runId}/artifacts`);
    if (listed.status === 200 && listed.json.artifacts.length) {
      const row = page.locator('section.artifacts tr').filter({ hasText: 'site' });
      await row.waitFor();
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        row.getByRole('link', { name: 'Download site' }).click(),
      ]);
      assert.equal(download.suggestedFilename(), 'site.tar.gz');
    } else await page.getByText('No artifacts.').waitFor();
    await shot(page, 'run-finished');
    // The viewer's page followed along without a reload.
    await viewer
      .locator(`main[data-run="${runId}"][data-status="succeeded"]`)
      .waitFor({ timeout: 10_000 });
    await viewer
      .locator('.gate.decided[data-decision="approved"]')
      .filter({ hasText: 'oscar' })
      .waitFor();
  });

  it('reads a log: ANSI colours, search, linkable lines, keyboard scrolling', async () => {
    const page = operator;
    // A finished stage's log opens at its top.
    await page.goto(`${env.url}/runs/${runId}/stages/Build`);
    const log = page.getByRole('log');
    await log.filter({ hasText: 'compiling' }).waitFor();
    assert.equal(await log.locator('.fg-ansi-green.b', { hasText: 'compiling' }).count(), 1);
    await page.getByRole('searchbox', { name: 'Search the log' }).fill('needle');
    await page.getByRole('searchbox', { name: 'Search the log' }).press('Enter');
    await page.locator('.match-count').filter({ hasText: '1 of 1' }).waitFor();
    await page
      .locator('.log-line.current-match')
      .filter({ hasText: 'needle-in-the-log' })
      .waitFor();
    // Keyboard: Home goes to the top; End to the bottom.
    await log.focus();
    await page.keyboard.press('Home');
    await waitFor(
      'the log to scroll to the top',
      async () => (await log.getAttribute('data-first-line')) === '1',
    );
    await page.keyboard.press('End');
    await waitFor(
      'the log to scroll to the end',
      async () => Number(await log.getAttribute('data-first-line')) > 200,
    );
    await page.keyboard.press('Home');
    const line = page.locator('.log-line').filter({ hasText: /build line 3$/ });
    const n = await line.getAttribute('data-line');
    await line.locator('.ln').click();
    await page.waitForURL(new RegExp(`#L${n}$`));
    const link = page.url();
    await page.goto('about:blank');
    await page.goto(link);
    await page
      .locator(`.log-line.selected[data-line="${n}"]`)
      .filter({ hasText: /build line 3$/ })
      .waitFor();
    await page.getByRole('searchbox', { name: 'Search the log' }).fill('line 1');
    await page
      .locator('.log-line.current-match')
      .filter({ hasText: /build line 1$/ })
      .waitFor();
    await shot(page.locator('.stage-detail'), 'log');
  });

  it('shows the deployment on the environments page, with history and DORA figures', async () => {
    const page = operator;
    await page.getByRole('link', { name: 'Environments' }).click();
    const run = (await env.api('viewer', 'GET', `/api/v1/runs/${runId}`)).json as {
      trigger: { sha: string };
    };
    const row = page.locator(
      'table.deployed tr[data-environment="production"][data-project="shop"]',
    );
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(run.trigger.sha.slice(0, 10)));
    assert.match(await row.innerText(), new RegExp(`#${runId}`));
    await page
      .locator('section.environment[data-environment="production"] dl.dora')
      .filter({ hasText: 'Change failure rate' })
      .waitFor();
    await page
      .locator('section.environment[data-environment="staging"] table.history tbody tr')
      .first()
      .waitFor();
    await shot(page.locator('main'), 'environments');
  });

  it('explains the plan before running it: skip reasons and waits', async () => {
    const page = operator;
    await page.goto(`${env.url}/projects/shop/explain?branch=main`);
    await page.locator('.graph .stage-node[data-stage="Build"]').waitFor();
    const docs = page.locator('table.stages tr[data-stage="Docs"]');
    assert.match(await docs.innerText(), /skipped/);
    assert.match(await docs.innerText(), /needs branch == 'docs'/);
    assert.match(
      await page.locator('table.stages tr[data-stage="Production"]').innerText(),
      /Release to production\?/,
    );
    await page
      .locator('.gate-node[data-gate="Production:enter:0"]')
      .filter({ hasText: 'will wait' })
      .waitFor();
    assert.deepEqual(await unnamedControls(page), []);
    await shot(page.locator('main'), 'explain');
  });

  it('rejects a gate, re-runs from the failed stage, and cancels', async () => {
    const page = operator;
    const first = await env.api('operator', 'POST', '/api/v1/projects/shop/runs', {
      event: 'manual',
    });
    await page.goto(`${env.url}/runs/${first.json.id}`);
    await page.getByRole('button', { name: 'Reject' }).waitFor({ timeout: 30_000 });
    await page.getByLabel('Comment (optional)').fill('not on a Friday');
    await page.getByRole('button', { name: 'Reject' }).click();
    await page.locator(`main[data-status="failed"]`).waitFor({ timeout: 20_000 });
    assert.match(
      await page.locator('.gate.decided[data-decision="rejected"]').innerText(),
      /by oscar[\s\S]*not on a Friday/,
    );
    await page.getByRole('button', { name: 'Re-run from failed stage' }).click();
    await page.waitForURL((u) => !u.pathname.endsWith(`/runs/${first.json.id}`));
    const rerun = /\/runs\/(\d+)/.exec(page.url())![1] as string;
    await page.getByText(`#${first.json.id}`).first().waitFor();
    // The stages that succeeded are reused: straight to the gate again.
    await page.getByRole('button', { name: 'Approve' }).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.getByRole('button', { name: 'Yes, cancel the run' }).click();
    await page
      .locator(`main[data-run="${rerun}"][data-status="cancelled"]`)
      .waitFor({ timeout: 20_000 });
  });

  it('pages and filters the runs of a project', async () => {
    const page = operator;
    await page.goto(`${env.url}/projects/shop`);
    await page.locator('table.runs tbody tr').first().waitFor();
    assert.equal(await page.locator('table.runs tbody tr').count(), 3);
    await page.getByLabel('Status').selectOption('succeeded');
    await page.waitForURL(/status=succeeded/);
    await waitFor(
      'one succeeded run',
      async () =>
        (await page.locator('table.runs tbody tr').count()) === 1 &&
        (await page.locator(`table.runs tr[data-run="${runId}"]`).count()) === 1,
    );
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Event').selectOption('push');
    await page.getByText('No run matches these filters.').waitFor();
    const page1 = await env.api('viewer', 'GET', '/api/v1/runs?project=shop&limit=2');
    assert.equal(page1.json.runs.length, 2);
    assert.ok(page1.json.next);
    await page.goto(`${env.url}/projects/shop`);
    await page.locator('table.runs tbody tr').first().waitFor();
    await shot(page, 'project');
    await page.goto(`${env.url}/`);
    await page.locator('.card[data-project="shop"]').filter({ hasText: 'Latest' }).waitFor();
    await shot(page, 'projects');
  });

  it('shows agents, and the audit log to admins only', async () => {
    const page = operator;
    await page.goto(`${env.url}/agents`);
    await page.locator('table.agents tr[data-agent="agent-1"]').waitFor();
    await shot(page, 'agents');
    await page.goto(`${env.url}/audit`);
    await page.getByText('The audit log is for admins.').waitFor();
    await signIn(viewer, env.url, env.tokens.admin);
    await viewer.getByRole('link', { name: 'Audit log' }).click();
    const approved = viewer.locator('table.audit tr[data-action="gate.approved"]');
    await approved.waitFor();
    assert.match(await approved.innerText(), /oscar/);
    await shot(viewer, 'audit');
  });

  it("a project page shows a run started elsewhere at once, from the server's runs stream, without polling", async () => {
    const page = operator;
    // Nothing running: a run's own events would (rightly) reload the list.
    await waitFor(
      'no active run of shop',
      async () => {
        const r = await env.api('viewer', 'GET', '/api/v1/runs?project=shop&limit=50');
        return (r.json.runs as Array<{ status: string }>).every((x) => !['queued', 'running', 'waiting'].includes(x.status));
      },
      60_000,
    );
    const listRequests: string[] = [];
    page.on('request', (req) => {
      if (/\/api\/v1\/runs\?/.test(req.url())) listRequests.push(req.url());
    });
    const streamOpen = page.waitForResponse((res) => res.url().includes('/api/v1/events/runs?project=shop') && res.status() === 200);
    await page.goto(`${env.url}/projects/shop`);
    await page.locator('table.runs tbody tr').first().waitFor();
    await streamOpen;
    await sleep(500);
    listRequests.length = 0;
    await sleep(3000);
    assert.deepEqual(listRequests, [], 'no polling while the stream is live');
    const started = await env.api('operator', 'POST', '/api/v1/projects/shop/runs', {});
    assert.equal(started.status, 201, JSON.stringify(started.json));
    const id = started.json.id as string;
    const t0 = Date.now();
    await page.locator(`table.runs tr[data-run="${id}"]`).waitFor({ timeout: 5_000 });
    assert.ok(Date.now() - t0 < 5_000);
    assert.ok(listRequests.length >= 1 && listRequests.length <= 6, `reloaded on the stream's word: ${listRequests.length} requests`);
    await env.api('operator', 'POST', `/api/v1/runs/${id}/cancel`);
  });

  it('is readable in dark mode', async () => {
    const page = operator;
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${env.url}/runs/${runId}`);
    await page.locator('.stage-node[data-stage="Production"][data-status="succeeded"]').waitFor();
    const bg = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    assert.equal(bg, 'rgb(13, 17, 23)');
    await shot(page, 'run-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });
});
