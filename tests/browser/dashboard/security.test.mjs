// The login with a token, its session cookie, logout; and pages of other origins, which must
// not open the live feed nor use the session.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { launch, openPage } from '../lib/browser.mjs';
import { startServer } from '../lib/server.mjs';

const TOKEN = 'browser-suite-token-8c1f';

/** A page of another origin (another port of the same host), as a hostile site would be. */
async function otherOrigin() {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>elsewhere</title><p>another site</p>');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) };
}

/** From `page`, tries to open the live feed at `app`: `open` or `refused`. */
function tryLiveFeed(page, app) {
  return page.evaluate(
    (url) =>
      new Promise((resolve) => {
        const ws = new WebSocket(url);
        ws.onopen = () => {
          ws.close();
          resolve('open');
        };
        ws.onerror = () => resolve('refused');
      }),
    `${app.replace('http', 'ws')}/api/v1/live`,
  );
}

/** A browser, a server (with `env`) and a page of another origin, for a describe block. */
function setup(env = {}) {
  const parts = {};
  before(async () => {
    parts.browser = await launch();
    if (!parts.browser) return;
    parts.server = await startServer({ env });
    parts.elsewhere = await otherOrigin();
  });
  after(async () => {
    await parts.browser?.close();
    await parts.server?.stop();
    await parts.elsewhere?.close();
  });
  return parts;
}

describe('with an API token', () => {
  const parts = setup({ AGENTRACE_API_TOKEN: TOKEN });

  test('the dashboard asks for the token once, refuses a wrong one, and logs out', async (t) => {
    const { browser, server, elsewhere } = parts;
    if (!browser) return t.skip('no Chromium');
    const page = await openPage(browser);
    await page.goto(`${server.app}/traces?status=error`);
    await page.waitForSelector('.login-card');
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(new URL(page.url()).searchParams.get('next'), '/traces?status=error');

    await page.fill('input[name="token"]', 'not-the-token');
    await page.click('button[type="submit"]');
    await page.waitForSelector('.login-card .error-box');
    assert.match(await page.innerText('.login-card .error-box'), /not right/);
    assert.deepEqual(await page.context().cookies(), [], 'no session for a wrong token');

    await page.fill('input[name="token"]', TOKEN);
    await page.click('button[type="submit"]');
    await page.waitForSelector('.view.traces');
    assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/traces?status=error', 'back where it was going');
    const [cookie] = await page.context().cookies();
    assert.equal(cookie.name, 'agentrace_session');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'no script can read it');
    assert.equal(await page.evaluate(() => fetch('/api/v1/traces').then((r) => r.status)), 200);
    assert.equal(await tryLiveFeed(page, server.app), 'open', 'the live feed takes the session');
    await page.reload();
    await page.waitForSelector('.view.traces');
    assert.equal(new URL(page.url()).pathname, '/traces', 'the session outlives a reload');

    await page.click('button.logout');
    await page.waitForSelector('.login-card');
    assert.equal(await page.evaluate(() => fetch('/api/v1/traces').then((r) => r.status)), 401);
    assert.deepEqual(await page.context().cookies(), [], 'the cookie is gone');
    await page.context().close();
  });

  test('a page of another origin can neither open the live feed nor use the session', async (t) => {
    const { browser, server, elsewhere } = parts;
    if (!browser) return t.skip('no Chromium');
    const page = await openPage(browser);
    await page.goto(`${server.app}/`);
    await page.fill('input[name="token"]', TOKEN);
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-stat="LLM calls"], .empty.large');
    // Same browser, same cookie jar: another port of this host is the same site, so the
    // cookie travels; the Origin check refuses it.
    await page.goto(elsewhere.url);
    assert.equal(await tryLiveFeed(page, server.app), 'refused');
    const read = await page.evaluate(
      (url) => fetch(url, { credentials: 'include' }).then((r) => `status ${r.status}`, () => 'blocked'),
      `${server.app}/api/v1/traces`,
    );
    assert.notEqual(read, 'status 200', `a cross-origin read: ${read}`);
    await page.context().close();
  });
});

describe('without a token (loopback)', () => {
  const parts = setup();

  test('there is no login, and pages of other origins cannot open the live feed', async (t) => {
    const { browser, server, elsewhere } = parts;
    if (!browser) return t.skip('no Chromium');
    const page = await openPage(browser);
    await page.goto(`${server.app}/status`);
    await page.waitForSelector('[data-stat="Spans stored"]');
    assert.equal(await page.locator('button.logout').count(), 0);
    assert.equal(await tryLiveFeed(page, server.app), 'open', 'its own pages');
    await page.goto(elsewhere.url);
    assert.equal(await tryLiveFeed(page, server.app), 'refused', 'another origin');
    await page.context().close();
  });
});
