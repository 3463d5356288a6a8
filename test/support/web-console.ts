import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureChromium } from '../../infra/services/chromium';

/**
 * Builds the web console with the project's own build (web/build.mjs) into a folder of this test's, so
 * tests running at once never share (or half-see) one build, and what is tested is the current source.
 */
export function buildConsole(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stacklens-console-'));
  execFileSync(process.execPath, [join(__dirname, '..', '..', 'web', 'build.mjs'), '--out', dir], {
    stdio: 'pipe',
  });
  return dir;
}

/** Headless Debian Chromium (installed when absent). Root runs it without the sandbox, which needs a user namespace. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: await ensureChromium(),
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

/**
 * What a page did that it must not: requests to any other origin than `origin`, and console errors
 * (a Content-Security-Policy violation is one).
 */
export function watchPage(page: Page, origin: string): { foreign: string[]; errors: string[] } {
  const seen = { foreign: [] as string[], errors: [] as string[] };
  page.on('request', (request) => {
    const url = new URL(request.url());
    const sameOrigin = url.host === new URL(origin).host && /^(https?|wss?):$/.test(url.protocol);
    if (!sameOrigin && url.protocol !== 'data:') seen.foreign.push(request.url());
  });
  page.on('console', (message) => {
    if (message.type() === 'error') seen.errors.push(message.text());
  });
  page.on('pageerror', (error) => seen.errors.push(error.message));
  return seen;
}

export const SCREENSHOTS_DIR = join(__dirname, '..', '..', 'docs', 'screenshots');
