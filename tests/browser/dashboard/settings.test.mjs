// The settings and organization views in a real browser against a real server with an API
// token: a project's key created (its secret shown once, then listed without it) and revoked;
// a setting saved through the editor (stored, as the API reads it back), refused by the server
// (its message on the page), refused before the server for bad JSON, removed; a setting a file
// gives, read-only; projects created, renamed and deleted, the switcher following; the
// organization's keys; and a key that may not manage keys, which sees the server's refusal.
//
// The server reads the dashboard from this checkout (--dashboard-dir), not from the files
// embedded in the binary, so these tests check the views as they are in the working tree.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import * as fmt from '../../../crates/agentrace-server/dashboard/src/lib/format.js';
import { launch, openPage } from '../lib/browser.mjs';
import { ROOT, startServer } from '../lib/server.mjs';

const TOKEN = 'browser-suite-settings-token-5d2e';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const DASHBOARD = join(ROOT, 'crates', 'agentrace-server', 'dashboard');

/** An alerts file: the `default` project's alerts are then the file's (read-only in the view). */
function alertsFile() {
  const path = join(mkdtempSync(join(tmpdir(), 'agentrace-settings-')), 'alerts.toml');
  writeFileSync(path, 'interval = "30s"\n');
  return path;
}

describe('the settings and organization views', () => {
  let browser;
  let server;
  let alerts;

  before(async () => {
    browser = await launch();
    if (!browser) return;
    alerts = alertsFile();
    server = await startServer({ args: ['--dashboard-dir', DASHBOARD, '--alerts', alerts], env: { AGENTRACE_API_TOKEN: TOKEN } });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A call to the server's API with the organization's token (`token`: another). */
  async function call(method, path, body, token = TOKEN) {
    const response = await fetch(`${server.app}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  /** A fresh page logged in with `token`, at `path`, once `ready` is on screen. */
  async function visit(path, ready, token = TOKEN) {
    const page = await openPage(browser);
    page.on('dialog', (dialog) => {
      page.dialogs = [...(page.dialogs ?? []), dialog.message()];
      dialog.accept();
    });
    await page.goto(`${server.app}/login`);
    await page.fill('input[name="token"]', token);
    await page.click('button[type="submit"]');
    await page.waitForSelector('.sidebar');
    await page.goto(server.app + path);
    await page.waitForSelector(ready, { timeout: 10_000 });
    return page;
  }

  /** The projects the switcher offers (none: no switcher), once `want` says so. */
  const switcherShows = (page, want) =>
    page.waitForFunction(
      (names) => JSON.stringify([...document.querySelectorAll('.project-switcher select option')].map((o) => o.value)) === JSON.stringify(names),
      want,
      { timeout: 10_000 },
    );

  /** The page's console errors, but for the browser's own line about each refusal the test asked for. */
  const unexpected = (page) => page.errors.filter((e) => !/Failed to load resource: the server responded with a status of (400|403|409)\b/.test(e));

  /** The card of the setting `kind`. */
  const card = (page, kind) => page.locator('.setting-card', { has: page.locator(`[data-kind="${kind}"]`) });

  test("a project's key: created with its secret shown once, listed without it, revoked", async (t) => {
    if (!browser) return t.skip('no Chromium');
    const page = await visit('/settings', '.keys-card .key-form');
    assert.equal(await page.locator('.sidebar nav a[href="/settings"]').count(), 1, 'a navigation entry');
    assert.equal(await page.innerText('.project-name'), 'default', 'no project in the URL: default');
    await page.fill('.keys-card input[name="key-name"]', 'ci-reader');
    await page.selectOption('.keys-card select[name="key-scope"]', 'read');
    await page.click('.keys-card button[type="submit"]');
    await page.waitForSelector('.key-secret-value');
    const secret = await page.inputValue('.key-secret-value');
    assert.match(secret, /^agt_[A-Za-z0-9_-]{43}$/);
    assert.match(await page.innerText('.key-secret'), /Shown once/);
    assert.equal(await page.locator('.key-secret button', { hasText: 'Copy' }).count(), 1);

    const { body } = await call('GET', '/projects/default/keys');
    const key = body.keys.find((k) => k.name === 'ci-reader');
    assert.ok(key, JSON.stringify(body));
    assert.equal(key.scope, 'read');
    assert.equal(key.secret, undefined, 'the API lists it without its secret');
    await page.waitForSelector(`.keys-table tr[data-key="${key.id}"]`);
    const row = await page.innerText(`.keys-table tr[data-key="${key.id}"]`);
    assert.match(row, /ci-reader/);
    assert.match(row, /read/);
    assert.match(row, /organization token/, 'its creator');
    assert.match(row, /never/, 'no expiry, never used');
    assert.equal((await call('GET', '/settings', undefined, secret)).status, 200, 'the secret shown is the key');

    // Dismissed, or on another visit, the secret is nowhere on the page; the key is listed.
    await page.click('.key-secret .link-button');
    assert.equal(await page.locator('.key-secret').count(), 0);
    assert.ok(!(await page.content()).includes(secret));
    await page.reload();
    await page.waitForSelector(`.keys-table tr[data-key="${key.id}"]`);
    assert.ok(!(await page.content()).includes(secret), 'shown once');

    await page.click(`.keys-table tr[data-key="${key.id}"] button.danger`);
    await page.waitForSelector(`.keys-table tr[data-key="${key.id}"]`, { state: 'detached' });
    assert.match(page.dialogs.at(-1), /Revoke the key “ci-reader”/);
    assert.equal((await call('GET', '/projects/default/keys')).body.keys.some((k) => k.id === key.id), false, 'revoked');
    assert.equal((await call('GET', '/settings', undefined, secret)).status, 401, 'the secret no longer works');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test("a setting saved through the editor, refused by the server with its reason, and removed", async (t) => {
    if (!browser) return t.skip('no Chromium');
    const page = await visit('/settings', '[data-kind="retention"] textarea');
    const retention = card(page, 'retention');
    assert.match(await retention.locator('.setting-state').innerText(), /the server's configuration applies/);
    assert.match(await retention.locator('textarea').getAttribute('placeholder'), /"max_age": "7d"/, 'an example as placeholder');

    await retention.locator('textarea').fill('{"spans": {"max_age": "7d"}}');
    await retention.locator('button[type="submit"]').click();
    await retention.locator('.setting-source', { hasText: 'Its own' }).waitFor();
    const stored = (await call('GET', '/settings/retention')).body;
    assert.deepEqual(stored.document, { spans: { max_age: '7d' } });
    assert.equal(stored.updated_by, 'organization token');
    // The card shows the stored document, pretty-printed, and when it was written.
    assert.equal(await retention.locator('textarea').inputValue(), JSON.stringify(stored.document, null, 2));
    const state = await retention.locator('.setting-state').innerText();
    assert.ok(state.includes(fmt.dateTime(stored.revision)), state);
    assert.match(state, /set by organization token/);

    // A document the server refuses: its message beside the editor, the stored one unchanged.
    const invalid = '{"spans": {"max_age": "soon"}}';
    const refusal = await call('PUT', '/settings/retention', invalid);
    assert.equal(refusal.status, 400);
    await retention.locator('textarea').fill(invalid);
    await retention.locator('button[type="submit"]').click();
    await retention.locator('.setting-error .error-box').waitFor();
    const shown = await retention.locator('.setting-error').innerText();
    assert.ok(shown.includes(refusal.body.error.message), `${shown}\n≠ ${refusal.body.error.message}`);
    assert.match(shown, /spans\.max_age "soon"/);
    assert.equal(await retention.locator('textarea').inputValue(), invalid, 'the text stays to be fixed');
    assert.deepEqual((await call('GET', '/settings/retention')).body.document, { spans: { max_age: '7d' } });

    // Text that is not JSON: said where, and the server is not asked.
    const puts = [];
    page.on('request', (r) => r.method() === 'PUT' && puts.push(r.url()));
    await retention.locator('textarea').fill('{"spans": {"max_age": "7d"}\n "events": {}}');
    await retention.locator('button[type="submit"]').click();
    await retention.locator('.setting-error', { hasText: 'Not valid JSON' }).waitFor();
    assert.match(await retention.locator('.setting-error').innerText(), /line 2, column 2/);
    assert.deepEqual(puts, []);

    // The server's again.
    await retention.locator('button', { hasText: "Use the server's" }).click();
    await retention.locator('.setting-source', { hasText: "The server's" }).waitFor();
    assert.match(page.dialogs.at(-1), /retention/);
    assert.equal((await call('GET', '/settings/retention')).body.document, null);
    assert.equal(await retention.locator('textarea').inputValue(), '');

    // The alerts of `default` are the alerts file's: said, and no editor.
    const alertsCard = card(page, 'alerts');
    assert.match(await alertsCard.innerText(), new RegExp(`Given by the file ${alerts.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal(await alertsCard.locator('textarea').count(), 0);
    assert.deepEqual(unexpected(page), []);
    await page.context().close();
  });

  test('the organization view creates, renames and deletes projects; the switcher follows', async (t) => {
    if (!browser) return t.skip('no Chromium');
    const page = await visit('/organization', '.projects-table tr[data-project="default"]');
    assert.equal(await page.locator('.project-switcher').count(), 0, 'one project: no switcher');

    // A name that is not a slug: the server's rule, on the page.
    await page.fill('input[name="project-name"]', 'Check Out');
    await page.click('.project-form button[type="submit"]');
    await page.waitForSelector('.project-form-error .error-box');
    assert.match(await page.innerText('.project-form-error'), /1 to 64 lowercase letters, digits and '-'/);

    await page.fill('input[name="project-name"]', 'checkout');
    await page.click('.project-form button[type="submit"]');
    await page.waitForSelector('.projects-table tr[data-project="checkout"]');
    assert.equal(await page.locator('.project-form-error').count(), 0);
    await switcherShows(page, ['default', 'checkout']);
    assert.ok((await call('GET', '/projects')).body.projects.some((p) => p.name === 'checkout'));

    // Its settings page names it; its keys are its own.
    await page.selectOption('.project-switcher select', 'checkout');
    await page.waitForURL((url) => url.searchParams.get('project') === 'checkout');
    await page.click('.sidebar nav a[href="/settings"]');
    await page.waitForSelector('.keys-card .key-form');
    assert.equal(await page.innerText('.project-name'), 'checkout');
    assert.equal(new URL(page.url()).searchParams.get('project'), 'checkout');

    // Renamed while the URL names it: the URL follows.
    await page.click('.sidebar nav a[href="/organization"]');
    await page.waitForSelector('.projects-table tr[data-project="checkout"]');
    await page.click('.projects-table tr[data-project="checkout"] button:has-text("Rename")');
    await page.fill('.projects-table tr[data-project="checkout"] input[name="rename"]', 'payments');
    await page.click('.projects-table tr[data-project="checkout"] .rename-form button[type="submit"]');
    await page.waitForSelector('.projects-table tr[data-project="payments"]');
    await page.waitForURL((url) => url.searchParams.get('project') === 'payments');
    await switcherShows(page, ['default', 'payments']);

    // Deleted: it goes from the list and the switcher; the URL names the project shown instead.
    await page.click('.projects-table tr[data-project="payments"] button.danger');
    await page.waitForSelector('.projects-table tr[data-project="payments"]', { state: 'detached' });
    assert.match(page.dialogs.at(-1), /Delete the project “payments”\? All of its data .* keys are revoked/);
    await page.waitForURL((url) => url.searchParams.get('project') === 'default', { timeout: 5_000 });
    await switcherShows(page, []);
    assert.deepEqual((await call('GET', '/projects')).body.projects.map((p) => p.name), ['default']);

    // The configured project cannot go: the server's reason.
    await page.click('.projects-table tr[data-project="default"] button.danger');
    await page.waitForSelector('.projects-table tr[data-project="default"] .row-error .error-box');
    assert.match(await page.innerText('.projects-table tr[data-project="default"] .row-error'), /409/);
    assert.deepEqual(unexpected(page), []);
    await page.context().close();
  });

  test("the organization's keys: created with the secret once and an expiry, listed, revoked", async (t) => {
    if (!browser) return t.skip('no Chromium');
    const page = await visit('/organization', '.keys-card .key-form');
    await page.fill('.keys-card input[name="key-name"]', 'gateway');
    await page.selectOption('.keys-card select[name="key-scope"]', 'ingest');
    await page.selectOption('.keys-card select[name="key-expires"]', String(30 * 86400));
    await page.click('.keys-card button[type="submit"]');
    await page.waitForSelector('.key-secret-value');
    const secret = await page.inputValue('.key-secret-value');
    assert.match(secret, /^agt_/);
    const key = (await call('GET', '/keys')).body.keys.find((k) => k.name === 'gateway');
    assert.equal(key.project, null, "the organization's");
    assert.equal(key.scope, 'ingest');
    assert.equal(Math.round((key.expires_unix_nano - key.created_unix_nano) / 1e9), 30 * 86400, 'it expires in 30 days');
    await page.waitForSelector(`.keys-table tr[data-key="${key.id}"]`);
    assert.match(await page.innerText(`.keys-table tr[data-key="${key.id}"]`), new RegExp(fmt.dateTime(key.expires_unix_nano)));
    await page.click(`.keys-table tr[data-key="${key.id}"] button.danger`);
    await page.waitForSelector(`.keys-table tr[data-key="${key.id}"]`, { state: 'detached' });
    assert.deepEqual((await call('GET', '/keys')).body.keys, []);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test("a key that may not manage keys or projects sees the server's refusal, not a broken page", async (t) => {
    if (!browser) return t.skip('no Chromium');
    const { body: reader } = await call('POST', '/projects/default/keys', { scope: 'read', name: 'viewer' });
    const page = await visit('/settings', '.keys-card .error-box', reader.secret);
    const refusal = (await call('GET', '/projects/default/keys', undefined, reader.secret)).body.error.message;
    assert.match(refusal, /needs scope `admin`/);
    assert.ok((await page.innerText('.keys-card .error-box')).includes(refusal));
    // It reads the settings; saving one is refused with the server's words.
    const retention = card(page, 'retention');
    await retention.locator('textarea').fill('{"spans": {"max_age": "7d"}}');
    await retention.locator('button[type="submit"]').click();
    await retention.locator('.setting-error .error-box').waitFor();
    assert.match(await retention.locator('.setting-error').innerText(), /403.*needs scope `admin`/s);

    await page.click('.sidebar nav a[href="/organization"]');
    await page.waitForSelector('.keys-card .error-box');
    const keysRefusal = await call('GET', '/keys', undefined, reader.secret);
    assert.equal(keysRefusal.status, 403);
    assert.ok((await page.innerText('.keys-card .error-box')).includes(keysRefusal.body.error.message));
    await page.fill('input[name="project-name"]', 'mine');
    await page.click('.project-form button[type="submit"]');
    await page.waitForSelector('.project-form-error .error-box');
    const createRefusal = await call('POST', '/projects', { name: 'mine' }, reader.secret);
    assert.equal(createRefusal.status, 403);
    assert.ok((await page.innerText('.project-form-error')).includes(createRefusal.body.error.message));
    assert.deepEqual(unexpected(page), []);
    await page.context().close();
  });
});
