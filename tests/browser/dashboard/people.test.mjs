// People in the browser, each step as a person takes it: the first owner (from
// AGENTRACE_ADMIN_EMAIL and AGENTRACE_ADMIN_PASSWORD) logs in with a password, invites
// someone from the People page, the invitation's link makes them a person in another
// browser, they change their password on their Account page, and the owner removes them:
// their session stops working.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launch, openPage } from '../lib/browser.mjs';
import { startServer } from '../lib/server.mjs';

const OWNER = 'owner@example.com';
const OWNER_PASSWORD = 'owner-password-0123';
const DAN_PASSWORD = 'dan-password-0123';

describe('people', () => {
  let browser;
  let server;

  before(async () => {
    browser = await launch();
    if (!browser) return;
    server = await startServer({ env: { AGENTRACE_ADMIN_EMAIL: OWNER, AGENTRACE_ADMIN_PASSWORD: OWNER_PASSWORD } });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** The API's answer to the page's session: its status and JSON. */
  const fromPage = (page, path) => page.evaluate((p) => fetch(`/api/v1${p}`).then(async (r) => ({ status: r.status, body: await r.json() })), path);

  /** The console errors of `page` but the refused requests the test makes on purpose. */
  const unexpected = (page) => page.errors.filter((e) => !/status of (401|403)/.test(e));

  test('an invited person joins by the link, changes their password, and is removed', async (t) => {
    if (!browser) return t.skip('no Chromium');
    const owner = await openPage(browser);
    await owner.goto(`${server.app}/people`);
    await owner.waitForSelector('.login-card input[name="email"]');
    await owner.fill('input[name="email"]', OWNER);
    await owner.fill('input[name="password"]', 'not-the-password');
    await owner.click('button[type="submit"]');
    await owner.waitForSelector('.login-card .error-box');
    assert.equal(await owner.innerText('.login-card .error-box'), 'Wrong e-mail address or password.');
    await owner.fill('input[name="password"]', OWNER_PASSWORD);
    await owner.click('button[type="submit"]');
    await owner.waitForSelector('.people-view .invite-form');
    assert.equal(new URL(owner.url()).pathname, '/people', 'back where the login began');

    await owner.fill('input[name="invite-email"]', 'Dan@Example.com');
    await owner.selectOption('select[name="invite-role"]', 'member');
    await owner.click('.invite-form button[type="submit"]');
    await owner.waitForSelector('.secret-once code.secret');
    const link = await owner.innerText('.secret-once code.secret');
    assert.match(link, new RegExp(`^${server.app}/invitation#token=`), link);
    await owner.waitForSelector('.invitations-table tr[data-invitation="dan@example.com"]');

    const dan = await openPage(browser);
    await dan.goto(link);
    await dan.fill('input[name="name"]', 'Dan');
    await dan.fill('input[name="password"]', DAN_PASSWORD);
    await dan.click('button[type="submit"]');
    await dan.waitForSelector('a.signed-in');
    const session = await fromPage(dan, '/auth/session');
    assert.deepEqual([session.body.person.email, session.body.person.role], ['dan@example.com', 'member']);
    assert.deepEqual(
      [await owner.locator('nav a[href="/people"], nav a[href="/audit"]').count(), await dan.locator('nav a[href="/people"], nav a[href="/audit"]').count()],
      [2, 0],
      "People and Audit log are in the organization admins' navigation only",
    );

    const again = await openPage(browser);
    await again.goto(link);
    await again.fill('input[name="name"]', 'Mallory');
    await again.fill('input[name="password"]', 'mallory-password-0123');
    await again.click('button[type="submit"]');
    await again.waitForSelector('.login-card .error-box');
    assert.match(await again.innerText('.login-card .error-box'), /used already/, 'a link works once');
    await again.context().close();

    await dan.click('a.signed-in');
    await dan.waitForSelector('.account-view .password-form');
    await dan.fill('input[name="current"]', 'not-his-password');
    await dan.fill('input[name="new"]', 'dan-new-password-0123');
    await dan.click('.password-form button[type="submit"]');
    await dan.waitForSelector('.password-form .error-box');
    assert.match(await dan.innerText('.password-form .error-box'), /403[\s\S]*current password is wrong/);
    await dan.fill('input[name="current"]', DAN_PASSWORD);
    await dan.click('.password-form button[type="submit"]');
    await dan.waitForSelector('.password-form [role="status"]');
    assert.equal(await dan.locator('.password-form .error-box').count(), 0, 'the error went with the next try');

    await owner.reload();
    const row = owner.locator('.people-table tr[data-person="dan@example.com"]');
    await row.waitFor();
    assert.match(await row.innerText(), /Dan[\s\S]*member[\s\S]*password/);
    owner.once('dialog', (d) => d.accept());
    await row.locator('button.danger').click();
    await owner.locator('.people-table tr[data-person="dan@example.com"]').waitFor({ state: 'detached' });
    assert.equal((await fromPage(dan, '/traces')).status, 401, 'a removed person is refused at once on this node');

    assert.deepEqual([...unexpected(owner), ...unexpected(dan)], []);
    await owner.context().close();
    await dan.context().close();
  });
});
