// Debian's Chromium, headless, driven over the DevTools protocol by playwright-core. Every
// page records its console errors and uncaught exceptions, so a test can require none.

import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export function chromiumPath() {
  return process.env.AGENTRACE_CHROMIUM ?? '/usr/bin/chromium';
}

/**
 * Launches Chromium; `null` (after a loud message) when it is missing and CI is not set. With
 * CI=true a missing browser fails: it is installed by scripts/install-test-deps.sh.
 */
export async function launch() {
  const path = chromiumPath();
  if (!existsSync(path)) {
    const message = `Chromium is missing at ${path}: run scripts/install-test-deps.sh (Debian's chromium package) or set AGENTRACE_CHROMIUM`;
    if (process.env.CI === 'true') throw new Error(message);
    console.error(`\n*** SKIPPING THE BROWSER TESTS: ${message} ***\n`);
    return null;
  }
  return chromium.launch({
    executablePath: path,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A new page (its own context: its own cookies) that collects console errors. */
export async function openPage(browser, { width = 1440, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => page.errors.push(`uncaught: ${e.message}`));
  return page;
}
