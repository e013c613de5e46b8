// Single sign-on for real: npm's oidc-provider on this machine, `agentrace serve --sso` over
// it, Debian's Chromium clicking through. A person of an allowed group lands in the dashboard
// with the projects their groups grant and no others; a person of no allowed group is refused
// with a page saying so; a tampered or an expired ID token is refused with a page saying why;
// the logins and the refusals are in the audit log.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { launch, openPage } from '../lib/browser.mjs';
import { freePort, startProvider } from '../lib/oidc.mjs';
import { startServer } from '../lib/server.mjs';

const TOKEN = 'sso-suite-token-0123456789';

describe('single sign-on', () => {
  let browser;
  let provider;
  let server;

  before(async () => {
    browser = await launch();
    if (!browser) return;
    const appPort = await freePort();
    const redirect = `http://127.0.0.1:${appPort}/api/v1/auth/sso/callback`;
    provider = await startProvider({ redirectUri: redirect });
    const file = join(mkdtempSync(join(tmpdir(), 'agentrace-sso-')), 'sso.toml');
    writeFileSync(file, [
      `issuer = "${provider.issuer}"`,
      `client_id = "${provider.clientId}"`,
      'client_secret_env = "AGENTRACE_TEST_SSO_SECRET"',
      `redirect_url = "${redirect}"`,
      'scopes = ["openid", "email", "profile", "groups"]',
      'allowed_groups = ["eng", "ops"]',
      '[project_roles.eng]',
      'alpha = "admin"',
      '[project_roles.ops]',
      'alpha = "none"',
    ].join('\n'));
    server = await startServer({
      appPort,
      args: ['--sso', file, '--api-token', TOKEN],
      env: { AGENTRACE_TEST_SSO_SECRET: provider.clientSecret },
    });
    const made = await fetch(`${server.app}/api/v1/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'alpha' }),
    });
    assert.equal(made.status, 201);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await provider?.stop();
  });

  /** Signs `login` in through the provider's pages; the page, where the callback left it. */
  async function signIn(login) {
    const page = await openPage(browser);
    await page.goto(`${server.app}/traces`);
    await page.click('.sso-button');
    await page.waitForSelector('input[name="login"]', { timeout: 10_000 });
    await page.fill('input[name="login"]', login);
    await page.fill('input[name="password"]', 'anything');
    await page.click('button[type="submit"]');
    // The provider asks once whether agentrace may have the person's claims.
    await page.waitForSelector('button[type="submit"]:has-text("Continue"), .topbar, h1', { timeout: 10_000 });
    if (await page.locator('button[type="submit"]:has-text("Continue")').count()) {
      await page.click('button[type="submit"]:has-text("Continue")');
    }
    await page.waitForURL((url) => url.origin === server.app, { timeout: 10_000 });
    // What the provider's development pages logged (their fonts from the internet, their
    // favicon) is theirs: from here on, the dashboard's console must stay clean.
    page.errors.length = 0;
    return page;
  }

  /** `path` of the API, fetched by the page with its session. */
  const fromPage = (page, path) => page.evaluate((p) => fetch(`/api/v1${p}`).then(async (r) => ({ status: r.status, body: await r.json() })), path);

  test('a person of an allowed group lands in the dashboard with the projects their groups grant', async (t) => {
    if (!browser) return t.skip('no Chromium');
    const ada = await signIn('ada');
    await ada.waitForSelector('.project-switcher select', { timeout: 10_000 });
    assert.equal(new URL(ada.url()).pathname, '/traces', 'back where the login began');
    const session = await fromPage(ada, '/auth/session');
    assert.equal(session.body.person.email, 'ada@example.com');
    assert.equal(session.body.person.role, 'viewer', 'no group of hers gives an organization role');
    const shown = await ada.$$eval('.project-switcher option', (options) => options.map((o) => o.value));
    assert.deepEqual(shown, ['default', 'alpha']);
    const retention = await ada.evaluate(() =>
      fetch('/api/v1/settings/retention', { method: 'PUT', headers: { 'content-type': 'application/json', 'x-agentrace-project': 'alpha' }, body: '{"spans":{"max_age":"30d"}}' }).then((r) => r.status));
    assert.equal(retention, 200, 'eng makes her the admin of alpha');
    // Her account: this browser's session, kept in the store.
    await ada.click('a.signed-in');
    await ada.waitForSelector('.sessions-table tbody tr');
    assert.equal(await ada.locator('.sessions-table tbody tr').count(), 1);
    assert.equal(await ada.locator('.sessions-table tbody tr td.num').innerText(), 'this browser');

    const bob = await signIn('bob');
    await bob.waitForSelector('.view, .empty', { timeout: 10_000 });
    const projects = await fromPage(bob, '/projects');
    assert.deepEqual(projects.body.projects.map((p) => p.name), ['default'], 'ops hides alpha from bob');
    assert.deepEqual([...ada.errors, ...bob.errors], []);
    assert.equal((await fromPage(bob, '/traces?project=alpha')).status, 404, 'as a project that does not exist');
    await ada.context().close();
    await bob.context().close();
  });

  test('a tampered or an expired ID token is refused with a page saying why', async (t) => {
    if (!browser) return t.skip('no Chromium');
    for (const [spoil, why] of [['tampered', /signature/i], ['expired', /expired/i]]) {
      provider.spoilNext(spoil);
      const page = await signIn('ada');
      await page.waitForSelector('h1');
      assert.equal(await page.locator('h1').innerText(), 'The sign-in was refused', spoil);
      assert.match(await page.locator('p').first().innerText(), why, spoil);
      const session = await fromPage(page, '/auth/session');
      assert.equal(session.body.authenticated, false, `${spoil}: not signed in`);
      await page.context().close();
    }
    const audit = await fetch(`${server.app}/api/v1/audit?action=sso.refused`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.json());
    const reasons = audit.entries.map((e) => e.target);
    assert.ok(reasons.some((r) => /ID token was refused.*signature/i.test(r)), reasons.join('\n'));
    assert.ok(reasons.some((r) => /ID token was refused.*expired/i.test(r)), reasons.join('\n'));
  });

  test('a person in no allowed group is refused with a clear page, and the audit log says so', async (t) => {
    if (!browser) return t.skip('no Chromium');
    const eve = await signIn('eve');
    await eve.waitForSelector('h1');
    assert.equal(await eve.locator('h1').innerText(), 'You cannot sign in here');
    assert.match(await eve.locator('p').first().innerText(), /eve@example\.com is in none of the groups allowed/);
    const session = await fromPage(eve, '/auth/session');
    assert.equal(session.body.authenticated, false);
    const audit = await fetch(`${server.app}/api/v1/audit?limit=100`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.json());
    const actions = audit.entries.map((e) => `${e.action} ${e.actor.name}`);
    assert.ok(actions.includes('sso.refused eve@example.com'), actions.join('\n'));
    assert.ok(actions.includes('login ada@example.com'), actions.join('\n'));
    assert.ok(actions.includes('PUT /settings/{kind} ada@example.com'), actions.join('\n'));
    await eve.context().close();
  });
});
