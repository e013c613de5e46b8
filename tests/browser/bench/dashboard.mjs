// cargo xtask bench dashboard: the dashboard in headless Chromium against a release server
// that already holds the load generator's million spans. Sends one 10,000-span trace and
// scores of 200 traces, then measures each view: time to its first full render, the API calls it made (Resource
// Timing), the bytes a first visit transfers, and the page's JavaScript heap (DevTools
// Performance metrics). Prints a table and a JSON line.
//
//   node bench/dashboard.mjs --app http://127.0.0.1:4319 --otlp http://127.0.0.1:4318

import { context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { launch, openPage } from '../lib/browser.mjs';
import { views } from '../lib/views.mjs';

const { values: args } = parseArgs({ options: { app: { type: 'string' }, otlp: { type: 'string' }, spans: { type: 'string', default: '10000' } } });
const app = args.app;
const BIG = Number(args.spans);

const api = (path) => fetch(`${app}/api/v1${path}`).then((r) => r.json());

/** One trace of `n` spans: an agent delegating to agents, each with model and tool calls. */
async function sendBigTrace(n) {
  const exporter = new OTLPTraceExporter({ url: `${args.otlp}/v1/traces` });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench-big-trace' }),
    spanProcessors: [new BatchSpanProcessor({ exporter, maxExportBatchSize: 500, maxQueueSize: n + 10 })],
  });
  const tracer = provider.getTracer('agentrace-bench');
  let t = Date.now() - 600_000;
  const start = (name, attributes, parent) =>
    tracer.startSpan(name, { attributes: { 'gen_ai.conversation.id': 'bench-session', ...attributes }, startTime: t }, parent ? trace.setSpan(context.active(), parent) : undefined);
  const root = start('invoke_agent orchestrator', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'orchestrator' });
  let made = 1;
  let agent = 0;
  while (made < n) {
    agent += 1;
    const worker = start(`invoke_agent worker-${agent % 20}`, { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': `worker-${agent % 20}` }, root);
    made += 1;
    for (let i = 0; i < 48 && made < n; i += 1) {
      const llm = i % 2 === 0;
      const s = start(llm ? 'chat gpt-4o-mini' : 'execute_tool lookup', llm
        ? { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 800, 'gen_ai.usage.output_tokens': 60 }
        : { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'lookup' }, worker);
      t += 25;
      s.end(t);
      made += 1;
    }
    t += 5;
    worker.end(t);
  }
  t += 5;
  root.end(t);
  await provider.forceFlush();
  await provider.shutdown();
  return root.spanContext().traceId;
}

/** Records in the page when `window.__ready` (a selector) first matches: a render time free of
 * the driver's polling. */
function watchReady() {
  window.__readyAt = null;
  const check = () => {
    if (window.__ready && window.__readyAt === null && document.querySelector(window.__ready)) {
      window.__readyAt = performance.now();
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, attributes: true });
}

/** What the page measured since navigation (or since `since`). */
async function collect(page, cdp, since = 0) {
  const timing = await page.evaluate((t0) => {
    const entries = performance.getEntriesByType('resource').filter((e) => e.startTime >= t0);
    const nav = t0 === 0 ? performance.getEntriesByType('navigation')[0] : null;
    return {
      rendered: window.__readyAt - t0,
      api: entries.filter((e) => e.name.includes('/api/v1/') && e.initiatorType === 'fetch').map((e) => ({ url: new URL(e.name).pathname + new URL(e.name).search, ms: e.responseEnd - e.requestStart })),
      transferred: entries.reduce((sum, e) => sum + (e.transferSize ?? 0), nav?.transferSize ?? 0),
      decoded: entries.reduce((sum, e) => sum + (e.decodedBodySize ?? 0), nav?.decodedBodySize ?? 0),
    };
  }, since);
  const { metrics } = await cdp.send('Performance.getMetrics');
  const heap = metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0;
  return { ...timing, heapMiB: heap / 2 ** 20 };
}

/** Loads `path` (a full page load; `ready`: the view rendered) and measures it. */
async function measure(page, cdp, path, ready) {
  await page.addInitScript((sel) => {
    window.__ready = sel;
  }, ready);
  await page.goto(app + path);
  await page.waitForSelector(ready, { timeout: 30_000 });
  await page.waitForFunction(() => window.__readyAt !== null);
  await page.waitForTimeout(300);
  return collect(page, cdp);
}

/** Clicks the sidebar link to `path` (navigation inside the app) and measures the view. */
async function navigate(page, cdp, path, ready) {
  const since = await page.evaluate((sel) => {
    window.__ready = sel;
    window.__readyAt = null;
    return performance.now();
  }, ready);
  await page.click(`.sidebar a[href="${path}"]`);
  await page.waitForFunction(() => window.__readyAt !== null, null, { timeout: 30_000 });
  await page.waitForTimeout(300);
  return collect(page, cdp, since);
}

const browser = await launch();
if (!browser) process.exit(1);
const bigTrace = await sendBigTrace(BIG);
for (let i = 0; i < 100; i += 1) {
  const t = await api(`/traces/${bigTrace}`).catch(() => null);
  if (t?.summary?.span_count === BIG) break;
  await new Promise((r) => setTimeout(r, 200));
}
// Scores, as a team's evaluators give them: one of each of the newest 200 traces (the load
// generator sends none), so that the Scores view has its groups to draw.
{
  const { traces: scored } = await api('/traces?limit=200');
  const scores = scored.map((t, i) => ({ trace_id: t.trace_id, name: 'helpfulness', value: (i % 10) / 10 }));
  const answer = await fetch(`${app}/api/v1/scores`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scores }) });
  if (answer.status !== 201) throw new Error(`POST /scores: ${answer.status} ${await answer.text()}`);
}
const { traces } = await api('/traces?limit=5');
const sample = traces.find((t) => t.trace_id !== bigTrace);
const sampleTree = await api(`/traces/${sample.trace_id}`);
const results = [];
/** The renderer processes' memory with the big trace open (MiB, proportional set size). */
let rendererMiB = 0;

// A first visit (cold cache), then every view on a warm cache.
{
  const page = await openPage(browser);
  await page.addInitScript(watchReady);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const first = await measure(page, cdp, '/', '[data-stat="LLM calls"]');
  results.push({ view: 'overview (first visit, cold cache)', ...first });
  for (const [path, ready] of [['/traces', 'table tbody tr[data-key]'], ['/sessions', 'table tbody tr[data-key]'], ['/cost', '.total-line'], ['/', '[data-stat="LLM calls"]']]) {
    results.push({ view: `${path} (from the sidebar)`, ...(await navigate(page, cdp, path, ready)) });
  }
  for (const view of views({ traceId: sample.trace_id, spanId: sampleTree.nodes[1]?.span.span_id, sessionId: sample.session_id ?? 'session-1' })) {
    results.push({ view: view.name, ...(await measure(page, cdp, view.path, view.ready)) });
  }
  results.push({ view: `trace of ${BIG} spans`, ...(await measure(page, cdp, `/traces/${bigTrace}`, '.timeline .row')) });

  // Interaction on the big trace: expand everything, then collapse the root, timed to the
  // next frame; and scrolling to the end.
  const act = (selector) =>
    page.evaluate(
      (sel) =>
        new Promise((resolve) => {
          const t0 = performance.now();
          document.querySelector(sel).click();
          requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
        }),
      selector,
    );
  const expandAll = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const t0 = performance.now();
        [...document.querySelectorAll('.tree-actions button')].find((b) => b.textContent.includes('Expand all')).click();
        requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
      }),
  );
  const rows = await page.locator('.timeline-foot').innerText();
  const scroll = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const body = document.querySelector('.timeline-body');
        const t0 = performance.now();
        body.scrollTop = body.scrollHeight;
        requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
      }),
  );
  const collapse = await act('.timeline .row .toggle');
  // The whole page's memory: the proportional set size (shared pages counted by share) of
  // Chromium's renderer processes, from /proc (one page is open).
  const renderers = execFileSync('ps', ['-C', 'chromium', '-o', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes('--type=renderer'))
    .map((line) => line.trim().split(/\s+/)[0]);
  const pss = (pid) => Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  const perRenderer = renderers.map((pid) => pss(pid) / 1024).sort((a, b) => b - a);
  rendererMiB = perRenderer.reduce((a, b) => a + b, 0);
  console.log(`renderer processes (PSS) with the ${BIG}-span trace open: ${perRenderer.map((m) => `${m.toFixed(0)} MiB`).join(', ')}; ${rendererMiB.toFixed(0)} MiB in all`);
  const { metrics } = await cdp.send('Performance.getMetrics');
  const heap = (metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0) / 2 ** 20;
  results.push({ view: `trace of ${BIG} spans: expand all (${rows})`, rendered: expandAll, api: [], transferred: 0, decoded: 0, heapMiB: heap });
  results.push({ view: `trace of ${BIG} spans: scroll to the end`, rendered: scroll, api: [], transferred: 0, decoded: 0, heapMiB: heap });
  results.push({ view: `trace of ${BIG} spans: collapse the root`, rendered: collapse, api: [], transferred: 0, decoded: 0, heapMiB: heap });
  await page.context().close();
}
await browser.close();

const kib = (b) => `${(b / 1024).toFixed(0)} KiB`;
console.log('\nview                                        render ms   slowest API call           ms   transferred  heap MiB');
for (const r of results) {
  const slow = r.api.reduce((a, b) => (b.ms > (a?.ms ?? -1) ? b : a), null);
  console.log(
    `${r.view.padEnd(44)}${r.rendered.toFixed(0).padStart(9)}   ${(slow?.url ?? '—').slice(0, 24).padEnd(24)}${(slow ? slow.ms.toFixed(1) : '—').padStart(7)}   ${kib(r.transferred).padStart(11)}  ${r.heapMiB.toFixed(1).padStart(8)}`,
  );
}
console.log(JSON.stringify({ big_trace_spans: BIG, renderer_mib: rendererMiB, results }));
