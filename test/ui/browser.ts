// Debian's Chromium driven by playwright-core (no downloaded browsers), started the way this
// machine needs it: headless, sandbox off (tests run as root), no background networking, and a
// fresh profile each time.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { repoRoot } from '../helpers.js';

export const CHROMIUM = process.env.OTTO_CHROMIUM ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or false when they can. */
export const noBrowser: string | false = existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium); CI installs it unless OTTO_CI_BROWSER=0`;

export const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const screenshotDir = join(repoRoot, 'test-output', 'ui');

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export async function launch(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'otto-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 860 },
    deviceScaleFactor: 1,
    reducedMotion: 'reduce',
    timezoneId: 'UTC',
    locale: 'en-GB',
  });
  context.setDefaultTimeout(15_000);
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves test-output/ui/NAME.png: the visible part of a page, or one element of it. */
export async function shot(target: Page | Locator, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await target.screenshot({ path, animations: 'disabled' });
  return path;
}

/**
 * Controls without a name are invisible to assistive technology: lists the buttons, links and form
 * fields on the page that have no accessible name.
 */
export async function unnamedControls(page: Page): Promise<string[]> {
  // A string, not a function: the test build has no DOM types, and this runs in the page.
  return page.evaluate<string[]>(`(() => {
    const out = [];
    for (const el of document.querySelectorAll('button, a[href], input, select, textarea')) {
      if (el.closest('[aria-hidden="true"]') || el.type === 'hidden') continue;
      const named = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || (el.labels && el.labels.length) || el.textContent.trim() || el.getAttribute('title');
      if (!named) out.push(el.outerHTML.slice(0, 120));
    }
    return out;
  })()`);
}
