// Screenshots of every view over the demo workload (`agentrace serve --demo`), written to
// target/dashboard-screenshots/ for people to look at (docs/dashboard.md shows them); each view
// must also load without a console error with live data flowing.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { launch, openPage } from '../lib/browser.mjs';
import { ROOT, api, binary, startServer } from '../lib/server.mjs';
import { views } from '../lib/views.mjs';

const OUT = process.env.AGENTRACE_SCREENSHOTS ?? join(ROOT, 'target', 'dashboard-screenshots');

let browser;
let server;

before(async () => {
  browser = await launch();
  if (!browser) return;
  server = await startServer({ args: ['--demo'] });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('every view over the demo workload, as a screenshot', async (t) => {
  if (!browser) return t.skip('no Chromium');
  mkdirSync(OUT, { recursive: true });
  // A multi-agent run with a failed tool, reaching tools through an MCP server, and a session
  // with several turns, once the demo's history is in (the demo back-fills a day when it
  // starts: two minutes on SQLite; on the ClickHouse test fixture, an engine in a Python
  // process, several).
  const polls = process.env.AGENTRACE_TEST_CLICKHOUSE ? 1_200 : 240;
  let trace;
  for (let i = 0; i < polls && !trace; i += 1) {
    const { traces } = await api(server, '/traces?from=-1h&service=research-assistant&status=error&limit=50');
    const overview = await api(server, '/overview?from=-24h');
    if (overview.traces >= 1_300) {
      for (const candidate of traces.filter((x) => x.span_count >= 10)) {
        const graph = await api(server, `/traces/${candidate.trace_id}/graph`);
        if (graph.nodes.some((n) => n.kind === 'mcp')) {
          trace = candidate;
          break;
        }
      }
    }
    if (!trace) await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(trace, 'the demo back-filled its history, MCP servers included');
  const tree = await api(server, `/traces/${trace.trace_id}`);
  // An LLM call the demo's judge scored (its scores in the span's detail), else one asking
  // for a tool.
  let scores = [];
  for (let i = 0; i < 240 && !scores.length; i += 1) {
    ({ scores } = await api(server, `/scores?trace_id=${trace.trace_id}&name=helpfulness`));
    if (!scores.length) await new Promise((r) => setTimeout(r, 500));
  }
  const judged = new Set(scores.map((s) => s.span_id));
  const llm = tree.nodes.find((n) => n.span.kind === 'llm' && judged.has(n.span.span_id))
    ?? tree.nodes.find((n) => n.span.kind === 'llm' && n.span.attributes?.['gen_ai.output.messages']?.includes('tool_call'))
    ?? tree.nodes.find((n) => n.span.kind === 'llm');
  const { sessions } = await api(server, '/sessions?from=-1h&limit=50');
  const session = sessions.reduce((a, b) => (b.traces > a.traces ? b : a));
  // The demo's burning SLO: every tool call, which its failing tools spend.
  for (const view of views({ traceId: trace.trace_id, spanId: llm.span.span_id, sessionId: session.session_id, sloName: 'tool calls succeed' })) {
    const page = await openPage(browser);
    await page.goto(server.app + view.path);
    await page.waitForSelector(view.ready, { timeout: 15_000 });
    await page.waitForTimeout(600);
    await page.screenshot({ path: join(OUT, `${view.name}.png`) });
    assert.deepEqual(page.errors, [], `${view.name}: ${page.errors.join('\n')}`);
    await page.context().close();
  }
  // The report of the demo's last day, written by the CLI and opened from the file.
  const report = join(OUT, 'report.html');
  const run = spawnSync(binary(), ['report', '--server', server.app, '--since', '24h', '--output', report], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const page = await openPage(browser, { width: 1100, height: 900 });
  await page.goto(`file://${report}`);
  await page.waitForSelector('#slos tr[data-slo]');
  await page.screenshot({ path: join(OUT, 'report.png'), fullPage: true });
  assert.deepEqual(page.errors, []);
  await page.context().close();
  console.log(`screenshots in ${OUT}`);
});

test("the project switcher shows the demo's two projects and each view follows it", async (t) => {
  if (!browser) return t.skip('no Chromium');
  const { projects } = await api(server, '/projects');
  assert.deepEqual(projects.map((p) => p.name).sort(), ['default', 'staging']);
  // A trace of staging's, and one of default's: each project lists its own only.
  let staging;
  for (let i = 0; i < 240 && !staging; i += 1) {
    ({ traces: [staging] } = await api(server, '/traces?limit=1', { 'x-agentrace-project': 'staging' }));
    if (!staging) await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(staging, "the demo's second project holds runs");
  const page = await openPage(browser);
  await page.goto(`${server.app}/traces`);
  const select = page.locator('.project-switcher select');
  await select.waitFor({ timeout: 15_000 });
  await select.selectOption('staging');
  await page.waitForURL(/[?&]project=staging/);
  await page.waitForSelector(`a[href*="${staging.trace_id}"]`, { timeout: 15_000 });
  // Following a link keeps the project.
  await page.click('nav a[href="/sessions"]');
  await page.waitForURL(/\/sessions\?project=staging/);
  const defaults = await api(server, '/traces?limit=50');
  assert.ok(!defaults.traces.some((x) => x.trace_id === staging.trace_id), "staging's trace is not default's");
  assert.deepEqual(page.errors, [], page.errors.join('\n'));
  await page.context().close();
});
