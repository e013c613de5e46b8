// Every view in a real browser against a real server fed by the OpenTelemetry JS SDK: no
// console error, the numbers the API answers, the live list, the trace and its graph, deep
// links and the back button, and telemetry that tries to run script.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import * as fmt from '../../../crates/agentrace-server/dashboard/src/lib/format.js';
import { launch, openPage } from '../lib/browser.mjs';
import { api, binary, startServer } from '../lib/server.mjs';
import { provider, sendEvents, sendRun } from '../lib/telemetry.mjs';
import { views } from '../lib/views.mjs';

const XSS_NAME = '<img src=x onerror="window.__xss = 1"> agent';
const XSS_PROMPT = '<script>window.__xss = 2</script><img src=x onerror="window.__xss = 3">';
const XSS_MODEL = '<img src=x onerror="window.__xss = 5">';
const XSS_SCORE = '<img src=x onerror="window.__xss = 6">';
const XSS_SLO = '<img src=x onerror=\'window.__xss = 7\'>';

/** POSTs `scores` (`{"scores": [...]}`) to the server's API. */
async function postScores(server, scores) {
  const response = await fetch(`${server.app}/api/v1/scores`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ scores }),
  });
  if (response.status !== 201) throw new Error(`scores: ${response.status} ${await response.text()}`);
}

/** An alerts file whose rule fires for every model called (one alert each, named by it), and
 * two SLOs: one burning, one held (its name carries markup). */
function alertsFile() {
  const path = join(mkdtempSync(join(tmpdir(), 'agentrace-alerts-')), 'alerts.toml');
  writeFileSync(path, [
    'interval = "1s"',
    '[[rules]]',
    'name = "llm calls"',
    'measure = "requests"',
    'window = "10m"',
    'per = "model"',
    'warning = 1',
    'description = "every model called"',
    // Half the tool calls fail (each run's fetch_url times out): this one burns.
    '[[slos]]',
    'name = "tools succeed"',
    'objective = 0.95',
    'window = "7d"',
    'indicator = { type = "success", of = "tool_calls" }',
    // Every LLM call takes 400 ms: this one holds.
    '[[slos]]',
    `name = "answers within 2s ${XSS_SLO}"`,
    'objective = 0.9',
    'window = "7d"',
    'indicator = { type = "latency", of = "llm_calls", threshold = "2s" }',
  ].join('\n'));
  return path;
}

describe('the dashboard', () => {
  let browser;
  let server;
  let tracing;
  const runs = {};

  before(async () => {
    browser = await launch();
    if (!browser) return;
    server = await startServer({ args: ['--alerts', alertsFile()] });
    tracing = provider(server.otlpHttp, 'browser-suite');
    const now = Date.now();
    runs.first = await sendRun(tracing, { session: 's-alpha', user: 'ada', question: 'Which agents need tracing?', answer: 'All of them.', startMs: now - 120_000 });
    runs.second = await sendRun(tracing, { session: 's-alpha', user: 'ada', question: 'And what do they cost?', answer: 'See the cost view.', startMs: now - 60_000 });
    runs.other = await sendRun(tracing, { session: 's-beta', user: 'bob', question: 'Summarize the news.', answer: 'Nothing new.', startMs: now - 30_000, model: 'gpt-4o-mini' });
    runs.xss = await sendRun(tracing, { session: 's-xss', user: 'mallory', question: XSS_PROMPT, answer: '<b onmouseover="window.__xss = 4">bold?</b>', startMs: now - 20_000, rootName: XSS_NAME, model: XSS_MODEL });
    await sendEvents(server.otlpHttp, {
      traceId: runs.first.traceId,
      spanId: runs.first.rootSpanId,
      session: 's-alpha',
      service: 'browser-suite',
      timeMs: now - 100_000,
      messages: [['INFO', 9, 'web_search returned'], ['ERROR', 17, 'fetch_url timed out after 30s']],
    });
    // Helpfulness of each run's LLM calls, by an LLM judge: gpt-4o's 0.9, gpt-4o-mini's 0.5;
    // a score whose every text carries markup.
    const llmOf = async (run) => (await api(server, `/traces/${run.traceId}`)).nodes.filter((n) => n.span.kind === 'llm').map((n) => n.span);
    const judged = [];
    for (const [run, value] of [[runs.first, 0.9], [runs.second, 0.9], [runs.other, 0.5]]) {
      for (const span of await llmOf(run)) {
        judged.push({ trace_id: run.traceId, span_id: span.span_id, name: 'helpfulness', value, source: 'eval', annotator_kind: 'llm', author: 'judge', explanation: 'rated by the judge' });
      }
    }
    const [xssCall] = await llmOf(runs.xss);
    judged.push({ trace_id: runs.xss.traceId, span_id: xssCall.span_id, name: 'helpfulness', value: 0.1, label: XSS_SCORE, explanation: XSS_SCORE, author: XSS_SCORE, source: 'eval', annotator_kind: 'llm', metadata: { judge_trace_id: runs.first.traceId } });
    await postScores(server, judged);
    await sendEvents(server.otlpHttp, {
      traceId: runs.xss.traceId,
      spanId: runs.xss.rootSpanId,
      session: 's-xss',
      service: 'browser-suite',
      timeMs: now - 15_000,
      messages: [['WARNING', 13, XSS_MODEL]],
    });
  });

  after(async () => {
    await tracing?.shutdown();
    await browser?.close();
    await server?.stop();
  });

  /** A fresh page at `path`, once `ready` is on screen. */
  async function visit(path, ready) {
    const page = await openPage(browser);
    await page.goto(server.app + path);
    await page.waitForSelector(ready, { timeout: 10_000 });
    return page;
  }

  const text = (page, selector) => page.locator(selector).first().evaluate((e) => (e instanceof HTMLElement ? e.innerText : e.textContent));
  const keys = (page) => page.$$eval('table tbody tr[data-key]', (rows) => rows.map((r) => r.dataset.key));

  test('every view loads without a console error and shows what the API answers', async (t) => {
    if (!browser) return t.skip('no Chromium');
    const tree = await api(server, `/traces/${runs.first.traceId}`);
    const llm = tree.nodes.find((n) => n.span.kind === 'llm').span;
    const checks = {
      async overview(page) {
        const o = await api(server, '/overview?from=-1h');
        assert.equal(await text(page, '[data-stat="LLM calls"]'), fmt.count(o.requests));
        assert.equal(await text(page, '[data-stat="Errors"]'), fmt.count(o.errors));
        assert.equal(await text(page, '[data-stat="Cost"]'), fmt.usd(o.cost));
        assert.equal(await text(page, '[data-stat="Tokens"]'), fmt.compact(fmt.totalTokens(o.usage)));
        assert.equal(o.requests, 12, 'four runs of three model calls');
      },
      async traces(page) {
        const list = await api(server, '/traces?from=-1h');
        assert.deepEqual(await keys(page), list.traces.map((x) => x.trace_id));
        const first = list.traces[0];
        const cost = await page.locator(`tr[data-key="${first.trace_id}"] td`).last().innerText();
        assert.equal(cost, fmt.usdWithUnpriced(first.cost, first.unpriced_count));
      },
      async trace(page) {
        assert.equal(await page.locator('.timeline .row').count(), tree.nodes.length);
        assert.equal(await text(page, '[data-stat="Spans"]'), fmt.count(tree.summary.span_count));
        assert.equal(await text(page, '[data-stat="Cost"]'), fmt.usdWithUnpriced(tree.summary.cost, tree.summary.unpriced_count));
        assert.match(await text(page, '.detail-title'), new RegExp(llm.name));
      },
      async 'agent-graph'(page) {
        const g = await api(server, `/traces/${runs.first.traceId}/graph`);
        const shown = await page.$$eval('svg .node', (nodes) => nodes.map((n) => n.dataset.node).sort());
        assert.deepEqual(shown, g.nodes.map((n) => n.id).sort());
      },
      async sessions(page) {
        const s = await api(server, '/sessions?from=-1h&limit=200');
        assert.deepEqual(await keys(page), s.sessions.map((x) => x.session_id));
      },
      async session(page) {
        const s = await api(server, '/sessions/s-alpha?order=asc&messages=true&limit=25');
        assert.equal(await page.locator('.thread .turn').count(), s.traces.length);
        assert.equal(await text(page, '.thread .turn .bubble.user pre'), s.traces[0].turn.input);
        assert.equal(await text(page, '.thread .turn .bubble.assistant pre'), s.traces[0].turn.output);
      },
      async cost(page) {
        const c = await api(server, '/cost?from=-24h&group_by=model,hour');
        assert.equal(await text(page, '.total-line strong'), fmt.usdWithUnpriced(c.total.cost, c.total.unpriced));
        assert.equal(await page.locator('.table-wrap tbody tr').count(), c.rows.length);
      },
      async tools(page) {
        const tools = await api(server, '/tools?from=-1h&top=3&bucket=1m');
        const names = await page.$$eval('.tools-table tbody tr td:first-child', (cells) => cells.map((c) => c.innerText));
        assert.deepEqual(names, tools.tools.map((x) => x.tool));
        const servers = await page.$$eval('.tools-table tbody tr td.mcp-server', (cells) => cells.map((c) => c.innerText));
        assert.deepEqual(servers, tools.tools.map((x) => x.mcp_server ?? 'local'));
        assert.equal(await text(page, '.tools-table tbody tr td:nth-child(3)'), fmt.count(tools.tools[0].calls));
        const scores = await page.$$eval('.tools-table .health-score', (cells) => cells.map((c) => Number(c.innerText)));
        assert.deepEqual(scores, tools.tools.map((x) => x.health.score));
        const said = await page.$$eval('.tools-table tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('.recommendations li')].map((li) => li.innerText)));
        assert.deepEqual(said, tools.tools.map((x) => x.health.recommendations));
      },
      async scores(page) {
        const stats = await api(server, '/scores/stats?from=-24h&name=helpfulness&group_by=model&bucket=1h');
        const shown = await page.$$eval('.score-groups tbody tr', (rows) => rows.map((r) => r.dataset.group));
        assert.deepEqual(shown, stats.groups.map((g) => g.key ?? '(unknown)'));
        const mean = await page.locator(`.score-groups tr[data-group="gpt-4o"] td.num`).nth(1).innerText();
        assert.equal(mean, fmt.scoreNumber(stats.groups.find((g) => g.key === 'gpt-4o').mean));
        assert.equal(await text(page, '[data-stat="Scores"]'), fmt.count(stats.count));
      },
      async events(page) {
        const e = await api(server, '/events?from=-1h&limit=100');
        assert.equal(await page.locator('.table-wrap tbody tr').count(), e.events.length);
        assert.equal(await text(page, '.event-message'), e.events[0].message);
      },
      async people(page) {
        const people = await api(server, '/people');
        assert.equal(await page.locator('.people-table tbody tr').count(), people.people.length);
        assert.equal(await page.locator('.invitations-table tbody tr').count(), people.invitations.length);
      },
      async audit(page) {
        const audit = await api(server, '/audit?from=-1h&limit=100');
        const actions = audit.entries.map((e) => e.action);
        assert.ok(actions.includes('POST /scores'), 'the scores posted are in the log');
        // Newest first; the log has grown since the page read it by the reads that came after
        // (its own read, this one's): what the page shows is the rest, in order.
        const shown = await page.$$eval('.audit-table tbody tr td:nth-child(3)', (cells) => cells.map((c) => c.innerText));
        assert.ok(shown.length >= actions.length - 2, `${shown.length} of ${actions.length}`);
        assert.deepEqual(shown, actions.slice(actions.length - shown.length));
      },
      async account(page) {
        // An open server's caller is no person: no session of theirs is kept.
        assert.match(await text(page, '.account-view .empty'), /No session kept/);
      },
      async search(page) {
        // The failed tool calls, newest first, each linking to its span; the word marked.
        const found = await api(server, '/search?q=kind%3Atool%20(timeout%20OR%20failed)&from=-1h&limit=50');
        const shown = await page.$$eval('.search-hits .hit', (hits) => hits.map((h) => h.dataset.span));
        assert.deepEqual(shown, found.hits.map((h) => h.span_id));
        assert.equal(shown.length, 4, 'a fetch_url timed out in each of four runs');
        assert.deepEqual(await page.$$eval('.search-hits .hit:first-child mark', (ms) => ms.map((m) => m.textContent)), ['timeout']);
        // The box of the top bar is not shown on the search view; another view's opens it.
        assert.equal(await page.locator('.topbar-search').count(), 0);
        await page.click('.search-hits .hit:first-child .hit-name');
        await page.waitForSelector('.detail .detail-section mark');
        assert.match(await text(page, '.detail-title'), /execute_tool fetch_url/);
        assert.equal(await text(page, '.detail .error-text mark'), 'timeout');
        await page.goBack();
        await page.waitForSelector('.search-hits .hit');
        // A query that cannot be read: the server's caret under the token.
        await page.fill('.search-form input', 'kind:lm timeout');
        await page.press('.search-form input', 'Enter');
        await page.waitForSelector('.query-error pre');
        assert.match(await text(page, '.query-error pre'), /kind:lm timeout\n {5}\^\^/);
        // That refusal is the one error the console may hold.
        const refused = page.errors.filter((e) => /status of 400/.test(e));
        assert.equal(refused.length, 1, page.errors.join('\n'));
        page.errors.splice(page.errors.indexOf(refused[0]), 1);
        // The trace list, narrowed by the same syntax: the runs whose fetch_url timed out.
        await page.goto(`${server.app}/traces?q=timeout`);
        await page.waitForSelector('table tbody tr[data-key]');
        const listed = await api(server, '/traces?q=timeout&from=-1h&limit=50');
        assert.deepEqual(await keys(page), listed.traces.map((t) => t.trace_id));
        assert.equal(listed.traces.length, 4);
        // From another view, the top bar's box.
        await page.goto(`${server.app}/traces`);
        await page.fill('.topbar-search input', '"all of them"');
        await page.press('.topbar-search input', 'Enter');
        await page.waitForSelector('.search-hits .hit');
        assert.equal(new URL(page.url()).pathname, '/search');
        assert.equal(new URL(page.url()).searchParams.get('q'), '"all of them"');
        assert.deepEqual(await page.$$eval('.search-hits mark', (ms) => [...new Set(ms.map((m) => m.textContent))]), ['All of them']);
      },
      async status(page) {
        const s = await api(server, '/status');
        assert.equal(await text(page, '[data-stat="Spans stored"]'), fmt.count(s.spans.stored));
        // A fleet card for a shared store (ClickHouse) only.
        const fleet = page.locator('.card', { hasText: 'Nodes alive' });
        assert.equal(await fleet.count(), s.fleet.node ? 1 : 0);
        if (s.fleet.node) assert.ok((await fleet.innerText()).includes(s.fleet.node));
      },
      async guardrails(page) {
        const g = await api(server, '/guardrails?from=-1h&bucket=1m');
        assert.equal(await text(page, '[data-stat="Checks"]'), fmt.count(g.checks));
        assert.equal(await text(page, '[data-stat="Violations"]'), fmt.count(g.violations));
        assert.equal(await text(page, '[data-stat="Masked"]'), fmt.count(g.detections));
      },
      async alerts(page) {
        const a = await api(server, '/alerts?limit=50');
        assert.equal(await text(page, '[data-stat="Rules"]'), fmt.count(a.rules.length));
        const shown = await page.$$eval('.alerts-table tbody tr th', (cells) => cells.map((c) => c.firstChild.textContent));
        assert.deepEqual(shown, a.alerts.map((x) => x.alert));
        assert.ok(a.alerts.some((x) => x.alert === 'llm calls{model=gpt-4o}' && x.state === 'WARNING'), JSON.stringify(a.alerts));
        assert.equal(await page.locator('.alert-history li').count(), a.history.length);
      },
      async settings(page) {
        const { settings } = await api(server, '/settings');
        const kinds = await page.$$eval('.setting-card [data-kind]', (cards) => cards.map((c) => c.dataset.kind));
        assert.deepEqual(kinds, settings.map((x) => x.kind));
        // The alerts are the alerts file's: said, and not editable here.
        const alerts = settings.find((x) => x.kind === 'alerts');
        assert.ok(alerts.provided_by_file);
        const card = page.locator('.setting-card', { has: page.locator('[data-kind="alerts"]') });
        assert.ok((await card.innerText()).includes(alerts.provided_by_file));
        assert.equal(await card.locator('textarea').count(), 0);
        const { keys: projectKeys } = await api(server, '/projects/default/keys');
        assert.equal(await page.locator('.keys-table tbody tr').count(), projectKeys.length);
      },
      async organization(page) {
        const { projects } = await api(server, '/projects');
        const shown = await page.$$eval('.projects-table tbody tr', (rows) => rows.map((r) => r.dataset.project));
        assert.deepEqual(shown, projects.map((p) => p.name));
      },
      async slos(page) {
        const { slos } = await api(server, '/slos');
        const rows = await page.$$eval('.slos-table tbody tr', (trs) => trs.map((r) => [r.querySelector('th a').textContent, r.className]));
        assert.deepEqual(rows.map(([name]) => name), slos.map((x) => x.slo.name));
        const tools = slos.find((x) => x.slo.name === 'tools succeed');
        assert.equal(tools.counts.total, 8, 'two tool calls in each of four runs');
        assert.equal(tools.counts.good, 4, 'half failed');
        assert.equal(rows[0][1], 'bad', 'the burning SLO is marked');
        assert.equal(rows[1][1], '', 'the held one is not');
        assert.equal(await text(page, '[data-stat="At risk"]'), '1');
        assert.equal(await page.locator('.slos-table tbody tr').first().locator('td.num').first().evaluate((td) => td.firstChild.textContent), fmt.percent(tools.attainment, 2));
      },
      async slo(page) {
        const d = await api(server, '/slos/tools%20succeed?points=56');
        assert.equal(await text(page, '[data-stat="Attainment"]'), fmt.percent(d.attainment, 2));
        assert.equal(await text(page, '[data-stat="Budget left"]'), fmt.percent(d.budget_remaining, 1));
        assert.equal(d.burn_down.length, 57);
        assert.equal(await page.locator('.burn-alerts tbody tr.firing').count(), d.alerts.filter((a) => a.firing).length);
        // The failed tool calls, newest first, each a link to its trace.
        const links = await page.$$eval('.bad-events tbody th a', (as) => as.map((a) => a.getAttribute('href')));
        assert.equal(links.length, 4);
        assert.deepEqual(links, d.bad_events.map((e) => `/traces/${e.trace_id}?span=${e.span_id}`));
        assert.ok(d.bad_events.every((e) => e.error === 'timeout after 30s' && e.name === 'execute_tool fetch_url'));
        await page.click('.bad-events tbody th a');
        await page.waitForSelector('.detail .detail-section');
        assert.match(await text(page, '.detail-title'), /execute_tool fetch_url/);
      },
    };
    for (const view of views({ traceId: runs.first.traceId, spanId: llm.span_id, sessionId: 's-alpha', sloName: 'tools succeed' })) {
      const page = await visit(view.path, view.ready);
      await checks[view.name](page);
      // Let late answers and the live feed settle, then require a clean console.
      await page.waitForTimeout(300);
      assert.deepEqual(page.errors, [], `${view.name}: ${page.errors.join('\n')}`);
      await page.context().close();
    }
  });

  test('tools split and cost grouped by an attribute typed in the view, as the API answers', async (t) => {
    if (!browser) return t.skip('no Chromium');
    const page = await visit('/tools', '.tools-table tbody tr');
    await page.fill('input[name="attribute"]', 'user.id');
    await page.press('input[name="attribute"]', 'Enter');
    await page.waitForSelector('.tools-table th:has-text("user.id")');
    assert.match(page.url(), /group_by=attr%3Auser\.id|group_by=attr:user\.id/);
    const tools = await api(server, '/tools?from=-1h&top=3&bucket=1m&group_by=attr:user.id');
    const split = await page.$$eval('.tools-table tbody tr', (rows) =>
      rows.map((r) => [r.querySelector('td:first-child').innerText, r.querySelector('td.split-value').innerText]));
    assert.deepEqual(split, tools.tools.map((x) => [x.tool, x.attribute.value ?? '(none)']));
    assert.ok(new Set(split.map(([, user]) => user)).size >= 3, `each user's calls apart: ${JSON.stringify(split)}`);

    // Cost grouped by the attribute the URL names: the choice shows it, the table its values.
    await page.goto(`${server.app}/cost?group_by=attr:user.id,hour&range=24h`);
    await page.waitForSelector('.table-wrap th:has-text("attr:user.id")', { timeout: 15_000 });
    assert.equal(await page.locator('.toolbar select').first().inputValue(), 'attr');
    assert.equal(await page.locator('input[name="attribute"]').inputValue(), 'user.id');
    const cost = await api(server, '/cost?from=-24h&group_by=attr:user.id,hour');
    assert.equal(await page.locator('.table-wrap tbody tr').count(), cost.rows.length);
    const users = await page.$$eval('.table-wrap tbody tr td:first-child', (cells) => [...new Set(cells.map((c) => c.innerText))].sort());
    assert.deepEqual(users, [...new Set(cost.rows.map((r) => r.keys['attr:user.id'] ?? '(none)'))].sort());
    await page.waitForTimeout(300);
    assert.deepEqual(page.errors, [], page.errors.join('\n'));
    await page.context().close();
  });

  test('the report, written by the CLI, opens offline and says what the API says', async (t) => {
    if (!browser) return t.skip('no Chromium');
    const dir = mkdtempSync(join(tmpdir(), 'agentrace-report-'));
    const [from, to] = [new Date(Date.now() - 3_600_000), new Date(Date.now() + 60_000)].map((d) => d.toISOString().slice(0, 19) + 'Z');
    const write = (output) => {
      const run = spawnSync(binary(), ['report', '--server', server.app, '--from', from, '--to', to, '--output', output], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      return readFileSync(output, 'utf8');
    };
    const file = join(dir, 'report.html');
    write(file);
    const report = await api(server, `/report?from=${from}&to=${to}`);
    const page = await openPage(browser, { width: 1100, height: 900 });
    const fetched = [];
    page.on('request', (r) => fetched.push(r.url()));
    await page.goto(`file://${file}`);
    await page.waitForSelector('#slos tr[data-slo]');
    assert.deepEqual(fetched.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')), [], 'nothing fetched');
    const now = report.totals.this;
    for (const [label, value] of [['Agent runs', now.agent_runs], ['LLM calls', now.llm_calls], ['Tool calls', now.tool_calls], ['Failed spans', now.errors]]) {
      assert.equal(await text(page, `[data-figure="${label}"]`), fmt.count(value), label);
    }
    assert.equal(await text(page, '[data-figure="Cost"]'), `$${now.cost.toFixed(2)}`);
    // The SLOs: the burning one missed, as /slos judges it over the same period.
    const slos = await page.$$eval('#slos tr[data-slo]', (rows) => rows.map((r) => [r.dataset.slo, r.querySelector('td:nth-child(3)').firstChild.textContent]));
    assert.deepEqual(slos, report.slos.map((s) => [s.name, `${(s.attainment * 100).toFixed(2)} %`]));
    const tools = report.slos.find((s) => s.name === 'tools succeed');
    assert.deepEqual(tools.counts, { good: 4, total: 8 });
    // The failures: fetch_url's timeouts, its example a link to the span on the server.
    const failed = report.failures.find((f) => f.kind === 'tool' && f.name === 'fetch_url');
    assert.equal(failed.failures, 4);
    const link = `${server.app}/traces/${failed.example.trace_id}?span=${failed.example.span_id}`;
    assert.equal(await page.locator(`#failures a[href="${link}"]`).count(), 1);
    assert.equal(await page.locator('#cost svg.chart rect.bar').count(), report.cost.daily.filter((d) => d.cost !== null).length);
    // Telemetry's markup is text here too.
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.locator('img, script').count(), 0);
    assert.ok((await text(page, '#slos')).includes(XSS_SLO), 'the SLO name, as text');
    assert.ok((await text(page, '#cost')).includes(XSS_MODEL), 'the model, as text');
    assert.deepEqual(page.errors, []);
    await page.context().close();
    // The Markdown: the same figures, the markup escaped.
    const markdown = write(join(dir, 'report.md'));
    assert.ok(markdown.includes(`| Agent runs | ${fmt.count(now.agent_runs)} |`), markdown);
    assert.ok(!markdown.includes('<img'), 'no raw markup');
    assert.ok(markdown.includes('&lt;img src=x onerror='), markdown);
  });

  test('a span sent over OTLP appears in the live trace list within 2 s, without reload', async (t) => {
    if (!browser) return t.skip('no Chromium');
    const page = await visit('/traces', 'table tbody tr[data-key]');
    await page.waitForSelector('.live-toggle.live');
    const before = await keys(page);
    const run = await sendRun(tracing, { session: 's-live', user: 'lin', question: 'Live?', answer: 'Live.', startMs: Date.now() - 2_000 });
    const acknowledged = Date.now();
    await page.waitForSelector(`tr[data-key="${run.traceId}"]`, { timeout: 2_000 });
    const seen = Date.now() - acknowledged;
    const after = await keys(page);
    assert.equal(after[0], run.traceId, 'new traces go on top');
    assert.deepEqual(after.slice(1), before, 'the rows already shown stay');
    assert.deepEqual(page.errors, []);
    console.log(`live: the trace appeared ${seen} ms after its spans were acknowledged`);
    await page.context().close();
  });

  test('the overview and an open session follow the live feed too', async (t) => {
    if (!browser) return t.skip('no Chromium');
    const overview = await visit('/', '[data-stat="LLM calls"]');
    const session = await visit('/sessions/s-live', '.thread .turn');
    await Promise.all([overview.waitForSelector('.live-toggle.live'), session.waitForSelector('.live-toggle.live')]);
    const calls = await text(overview, '[data-stat="LLM calls"]');
    const turns = await session.locator('.thread .turn').count();
    await sendRun(tracing, { session: 's-live', user: 'lin', question: 'Still live?', answer: 'Still live.', startMs: Date.now() - 2_000 });
    // Bounds on a hung page, not performance figures: the overview refreshes at most every 5 s.
    await session.waitForFunction((n) => document.querySelectorAll('.thread .turn').length === n + 1, turns, { timeout: 10_000 });
    // The spans are acknowledged, so the API's count is final; the overview may pass through an
    // intermediate count (a refresh between two of the run's requests) before it shows it.
    const o = await api(server, '/overview?from=-1h');
    const expected = fmt.count(o.requests);
    assert.notEqual(expected, calls, 'the run added LLM calls');
    await overview.waitForFunction((want) => document.querySelector('[data-stat="LLM calls"]').innerText === want, expected, { timeout: 15_000 });
    assert.equal(await text(session, '.thread .turn:last-child .bubble.user pre'), 'Still live?');
    assert.deepEqual([...overview.errors, ...session.errors], []);
    await overview.context().close();
    await session.context().close();
  });

  test('the trace view shows the tree, the waterfall and an LLM span in full', async (t) => {
    if (!browser) return t.skip('no Chromium');
    const tree = await api(server, `/traces/${runs.first.traceId}`);
    const page = await visit(`/traces/${runs.first.traceId}`, '.timeline .row');
    assert.equal(await page.locator('.timeline .row').count(), 7);
    assert.equal(await page.locator('.timeline .span-bar').count(), 7);
    const depths = await page.$$eval('.timeline .row', (rows) => rows.map((r) => Number(r.getAttribute('aria-level'))));
    assert.deepEqual(depths, tree.nodes.map((n) => n.depth + 1), 'depth first, as the API nests them');
    // The root's row sums its subtree.
    const rootCost = await page.locator('.timeline .row').first().locator('.cell.num').nth(1).innerText();
    assert.equal(rootCost, `Σ ${fmt.usdWithUnpriced(tree.nodes[0].subtree.cost, tree.nodes[0].subtree.unpriced)}`);
    const llm = tree.nodes.find((n) => n.span.kind === 'llm').span;
    await page.click(`.row[data-span="${llm.span_id}"]`);
    await page.waitForSelector('.detail tr.total');
    assert.match(page.url(), new RegExp(`span=${llm.span_id}`));
    assert.equal(await text(page, '.detail tr.total td:last-child'), fmt.usd(llm.cost.total));
    // The call reports no reasoning count: unknown, not zero.
    assert.equal(llm.usage.reasoning_tokens, null);
    const reasoning = page.locator('.detail tr').filter({ has: page.locator('td.pre', { hasText: /^\s*reasoning$/ }) });
    assert.equal((await reasoning.locator('td.num').first().innerText()).trim(), 'not reported');
    await page.waitForSelector('.detail .message.role-user');
    assert.equal(await text(page, '.detail .message.role-user pre'), 'Which agents need tracing?');
    // The keyboard moves through the tree: down to the next span, left up to the parent.
    await page.focus('.timeline-body');
    await page.keyboard.press('ArrowDown');
    await page.waitForURL((url) => url.searchParams.get('span') === tree.nodes[tree.nodes.findIndex((n) => n.span.span_id === llm.span_id) + 1].span.span_id);
    await page.keyboard.press('ArrowLeft');
    await page.waitForURL((url) => url.searchParams.get('span') === tree.nodes[0].span.span_id);
    // Collapse the root: one row left, its subtree summed beside it.
    await page.click('.timeline .row >> nth=0 >> .toggle');
    assert.equal(await page.locator('.timeline .row').count(), 1);
    assert.match(await text(page, '.timeline .row'), /6 below · 1 failed/);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('the agent graph shows the agents, their tools and models, and the delegation', async (t) => {
    if (!browser) return t.skip('no Chromium');
    const page = await visit(`/traces/${runs.first.traceId}/graph`, 'svg .node');
    for (const node of ['agent:planner', 'agent:researcher', 'tool:web_search', 'tool:fetch_url', 'model:openai/gpt-4o']) {
      assert.equal(await page.locator(`[data-node="${node}"]`).count(), 1, node);
    }
    assert.equal(await page.locator('[data-edge="agent:planner->agent:researcher"]').count(), 1);
    assert.match(await text(page, '[data-edge="agent:researcher->tool:fetch_url"]'), /1 failed/);
    assert.match(await text(page, '[data-edge="agent:planner->model:openai/gpt-4o"]'), /×2/);
    await page.click('text=Call by call');
    await page.waitForURL(/mode=expanded/);
    await page.waitForFunction(() => document.querySelectorAll('svg .node').length === 7);
    // A node opens its span in the timeline.
    await page.click('svg .node.node-agent >> nth=0');
    await page.waitForSelector('.detail');
    assert.doesNotMatch(page.url(), /\/graph/);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('deep links, filters in the URL and the back button work', async (t) => {
    if (!browser) return t.skip('no Chromium');
    const page = await visit('/traces?user=bob', 'table tbody tr[data-key]');
    assert.deepEqual(await keys(page), [runs.other.traceId], 'the filter from the URL');
    assert.equal(await page.inputValue('input[name="user"]'), 'bob');
    await page.goto(`${server.app}/traces`);
    await page.waitForSelector(`tr[data-key="${runs.first.traceId}"]`);
    await page.click(`tr[data-key="${runs.first.traceId}"] a`);
    await page.waitForSelector('.timeline .row');
    assert.equal(new URL(page.url()).pathname, `/traces/${runs.first.traceId}`);
    await page.click('.tabs >> text=Agent graph');
    await page.waitForSelector('svg .node');
    assert.equal(new URL(page.url()).pathname, `/traces/${runs.first.traceId}/graph`);
    await page.goBack();
    await page.waitForSelector('.timeline .row');
    await page.goBack();
    await page.waitForSelector('table tbody tr[data-key]');
    assert.equal(new URL(page.url()).pathname, '/traces');
    // The range lives in the URL too, and a reload keeps everything.
    await page.goto(`${server.app}/sessions?range=24h&sort=cost`);
    await page.waitForSelector('table tbody tr[data-key]');
    assert.match(await text(page, '.range-button'), /Last 24 hours/);
    await page.reload();
    await page.waitForSelector('table tbody tr[data-key]');
    assert.match(await text(page, '.range-button'), /Last 24 hours/);
    assert.equal(await page.locator('th[aria-sort="descending"]').innerText(), 'Cost ▼');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('a person annotates a span, a trace and a session, and sees the scores where they belong', async (t) => {
    if (!browser) return t.skip('no Chromium');
    const tree = await api(server, `/traces/${runs.second.traceId}`);
    const llm = tree.nodes.find((n) => n.span.kind === 'llm').span;
    const page = await visit(`/traces/${runs.second.traceId}?span=${llm.span_id}`, '.detail .annotate');
    // The judge's score of this span is shown with its reason.
    await page.waitForSelector('.detail .score[data-score="helpfulness"]');
    assert.match(await text(page, '.detail .score[data-score="helpfulness"]'), /0\.9[\s\S]*eval[\s\S]*rated by the judge/);
    await page.click('.detail button[aria-label="Thumbs down"]');
    await page.waitForSelector('.detail .score[data-score="thumbs"] .score-fail');
    await page.fill('.detail .annotate-name', 'verdict');
    await page.fill('.detail .annotate-value', 'partly right');
    await page.fill('.detail .annotate-comment', 'misses the second part');
    await page.click('.detail .annotate button[type="submit"]');
    await page.waitForSelector('.detail .score[data-score="verdict"]');
    assert.match(await text(page, '.detail .score[data-score="verdict"]'), /partly right[\s\S]*annotation[\s\S]*misses the second part/);
    const stored = await api(server, `/scores?span_id=${llm.span_id}`);
    const verdict = stored.scores.find((s) => s.name === 'verdict');
    assert.deepEqual([verdict.label, verdict.data_type, verdict.source, verdict.annotator_kind, verdict.trace_id], ['partly right', 'categorical', 'annotation', 'human', runs.second.traceId]);
    assert.equal(stored.scores.find((s) => s.name === 'thumbs').value, 0);
    // The trace's scores: the span's, listed with a link to it, and one given to the trace.
    await page.click('.trace-scores > summary');
    await page.fill('.trace-scores .annotate-comment', 'good run');
    await page.click('.trace-scores button:has-text("Add comment")');
    await page.waitForSelector('.trace-scores .score[data-score="comment"]');
    assert.equal(await page.locator('.trace-scores .score').count(), 6, 'three helpfulness, thumbs, verdict, the comment');
    const ofTrace = await api(server, `/scores?trace_id=${runs.second.traceId}`);
    assert.equal(ofTrace.scores.length, 6);
    // A session's.
    const session = await visit('/sessions/s-alpha', '.scores-section .annotate');
    await session.click('.scores-section button[aria-label="Thumbs up"]');
    await session.waitForSelector('.scores-section .score[data-score="thumbs"] .score-pass');
    const ofSession = await api(server, '/scores?session_id=s-alpha');
    assert.deepEqual(ofSession.scores.map((s) => [s.name, s.value]), [['thumbs', 1]]);
    assert.deepEqual([...page.errors, ...session.errors], []);
    await page.context().close();
    await session.context().close();
  });

  test('the scores page splits a score by model and compares two side by side', async (t) => {
    if (!browser) return t.skip('no Chromium');
    const page = await visit('/scores?name=helpfulness&split=model', '.score-groups tbody tr');
    const stats = await api(server, '/scores/stats?from=-1h&name=helpfulness&group_by=model&bucket=1m');
    const [a, b] = ['gpt-4o', 'gpt-4o-mini'].map((k) => stats.groups.find((g) => g.key === k));
    await page.check('input[aria-label="Compare gpt-4o"]');
    await page.check('input[aria-label="Compare gpt-4o-mini"]');
    await page.waitForSelector('.compare');
    assert.match(page.url(), /compare=gpt-4o%2Cgpt-4o-mini|compare=gpt-4o,gpt-4o-mini/);
    const sides = await page.$$eval('.compare-side h3', (hs) => hs.map((h) => h.innerText));
    assert.deepEqual(sides, ['gpt-4o', 'gpt-4o-mini']);
    assert.equal(await text(page, '.compare-diff span'), `+${fmt.scoreNumber(a.mean - b.mean)}`);
    assert.ok(await page.locator('.u-legend').count() > 0, 'the trend is drawn');
    // The latest scores link what they judged.
    const first = page.locator('.card', { hasText: 'Latest helpfulness scores' }).locator('.score a').first();
    assert.match(await first.getAttribute('href'), /^\/traces\/[0-9a-f]{32}\?span=[0-9a-f]{16}$/);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('the scores page lists a rule given through the API and opens the traces of a score, lowest first, with each mean and bounds to set', async (t) => {
    if (!browser) return t.skip('no Chromium');
    // A rule given through the API is listed with where it comes from.
    const put = await fetch(`${server.app}/api/v1/evaluators/short_answers`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ filter: { kind: 'llm' }, check: { type: 'length', max: 2000 } }),
    });
    assert.equal(put.status, 201, await put.text());
    const page = await visit('/scores?name=helpfulness', '.evaluators-table tbody tr');
    assert.match(await text(page, '.evaluators-table tbody tr'), /short_answers\s+API\s+length/);
    await page.click('.filter-link');
    await page.waitForSelector('table tbody tr[data-key]');
    assert.equal(new URL(page.url()).pathname, '/traces');
    // Means: the markup run 0.1, the other 0.5, the first two 0.9 each.
    const listed = await keys(page);
    assert.deepEqual(listed.slice(0, 2), [runs.xss.traceId, runs.other.traceId]);
    assert.deepEqual(new Set(listed.slice(2)), new Set([runs.first.traceId, runs.second.traceId]));
    assert.equal(await page.locator('th[aria-sort="ascending"]').innerText(), 'helpfulness ▲');
    assert.equal(await text(page, `tr[data-key="${runs.other.traceId}"] td:last-child`), '0.5');
    assert.equal(await page.inputValue('select[name="score"]'), 'helpfulness');
    // A lower bound, typed: the markup run goes.
    await page.fill('input[name="score_min"]', '0.4');
    await page.waitForFunction(() => document.querySelectorAll('table tbody tr[data-key]').length === 3);
    assert.equal((await keys(page))[0], runs.other.traceId);
    assert.match(page.url(), /score_min=0\.4/);
    // Highest first, by the column's header.
    await page.click('th[aria-sort="ascending"] button');
    await page.waitForSelector('th[aria-sort="descending"]');
    await page.waitForFunction((id) => document.querySelector('table tbody tr[data-key]:last-child')?.dataset.key === id, runs.other.traceId);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('telemetry that carries markup is shown as text and runs nothing', async (t) => {
    if (!browser) return t.skip('no Chromium');
    const tree = await api(server, `/traces/${runs.xss.traceId}`);
    const llm = tree.nodes.find((n) => n.span.kind === 'llm').span;
    for (const [path, ready] of [
      ['/traces', `tr[data-key="${runs.xss.traceId}"]`],
      [`/traces/${runs.xss.traceId}?span=${llm.span_id}`, '.detail .message.role-user'],
      [`/traces/${runs.xss.traceId}/graph`, 'svg .node'],
      ['/sessions/s-xss', '.thread .turn'],
      ['/', '.ranked li'],
      ['/cost?group_by=model,hour', '.total-line'],
      ['/events?text=%3Cimg', '.event-message'],
      ['/search?q=onerror', '.search-hits .hit mark'],
      ['/alerts', '.alerts-table tbody tr'],
      ['/slos', '.slos-table tbody tr'],
      [`/slos/${encodeURIComponent(`answers within 2s ${XSS_SLO}`)}`, '.slo-head h2'],
      ['/scores?name=helpfulness&split=model', '.score-groups tbody tr'],
      [`/traces/${runs.xss.traceId}?span=${llm.span_id}`, '.detail .score[data-score="helpfulness"]'],
    ]) {
      const page = await visit(path, ready);
      await page.hover(ready);
      await page.waitForTimeout(200);
      assert.equal(await page.evaluate(() => window.__xss), undefined, `${path}: script ran`);
      assert.equal(await page.locator('img[src="x"], script:not([src]), [onerror], [onmouseover]').count(), 0, `${path}: markup was inserted`);
      assert.deepEqual(page.errors, [], path);
      if (path === '/traces') assert.match(await text(page, `tr[data-key="${runs.xss.traceId}"] .trace-name`), /^<img src=x onerror/);
      if (path.includes('span=')) assert.equal(await text(page, '.detail .message.role-user pre'), XSS_PROMPT);
      if (path.startsWith('/sessions')) assert.equal(await text(page, '.bubble.user pre'), XSS_PROMPT);
      if (path.startsWith('/events')) assert.equal(await text(page, '.event-message'), XSS_MODEL);
      if (path === '/alerts') assert.ok((await text(page, '.alerts-table')).includes(`llm calls{model=${XSS_MODEL}}`), 'the model in the alert, as text');
      if (path.startsWith('/slos')) assert.ok((await text(page, '.view')).includes(XSS_SLO), 'the SLO\'s name, as text');
      if (path.includes('span=') && ready.includes('score')) assert.ok((await text(page, '.detail .score')).includes(XSS_SCORE), 'the score\'s texts, as text');
      if (path.startsWith('/scores')) assert.ok((await text(page, '.scores')).includes(XSS_SCORE), 'the latest scores, as text');
      if (path.startsWith('/cost')) assert.ok((await page.locator('.u-legend').innerText()).includes(XSS_MODEL), 'the model name in the legend, as text');
      await page.context().close();
    }
  });
});
