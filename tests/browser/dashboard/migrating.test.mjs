// A call whose instrumentation reported a cost of its own (Langfuse's cost_details): the trace
// view shows agentrace's price as the call's cost and the reported figure apart, and a call
// whose reported figure is agentrace's shows no second one.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { context, trace } from '@opentelemetry/api';

import * as fmt from '../../../crates/agentrace-server/dashboard/src/lib/format.js';
import { launch, openPage } from '../lib/browser.mjs';
import { api, startServer } from '../lib/server.mjs';
import { provider } from '../lib/telemetry.mjs';

/** One trace of a Langfuse agent with two generations, `costs` their reported costs. */
async function sendLangfuseRun(tracerProvider, costs) {
  const tracer = tracerProvider.getTracer('langfuse-sdk', '5.0.4');
  const root = tracer.startSpan('trip_planner', { attributes: { 'langfuse.observation.type': 'agent' } });
  const ctx = trace.setSpan(context.active(), root);
  for (const [i, cost] of costs.entries()) {
    const generation = tracer.startSpan(
      `generation-${i}`,
      {
        attributes: {
          'langfuse.observation.type': 'generation',
          'langfuse.observation.model.name': 'gpt-4o',
          'langfuse.observation.usage_details': JSON.stringify({ input: 1000, output: 100 }),
          'langfuse.observation.cost_details': JSON.stringify({ total: cost }),
        },
      },
      ctx,
    );
    generation.end();
  }
  root.end();
  await tracerProvider.forceFlush();
  return root.spanContext().traceId;
}

describe('a reported cost', () => {
  let browser;
  let server;
  let tracing;

  before(async () => {
    browser = await launch();
    if (!browser) return;
    server = await startServer();
    tracing = provider(server.otlpHttp, 'langfuse-app');
  });

  after(async () => {
    await tracing?.shutdown();
    await browser?.close();
    await server?.stop();
  });

  test('is shown apart from agentrace price when they differ, and only then', async (t) => {
    if (!browser) return t.skip('no Chromium');
    // gpt-4o: 1,000 input and 100 output tokens cost $0.0035 at agentrace's price.
    const traceId = await sendLangfuseRun(tracing, [0.5, 0.0035]);
    const tree = await api(server, `/traces/${traceId}`);
    const calls = tree.nodes.filter((n) => n.span.kind === 'llm').map((n) => n.span);
    assert.equal(calls.length, 2);
    const page = await openPage(browser);
    for (const [span, shown] of [[calls[0], fmt.usd(0.5)], [calls[1], null]]) {
      await page.goto(`${server.app}/traces/${traceId}?span=${span.span_id}`);
      await page.waitForSelector('.detail tr.total');
      assert.equal((await page.locator('.detail tr.total td:last-child').innerText()).trim(), fmt.usd(span.cost.total), 'agentrace price is the cost');
      const reported = page.locator('.detail tr').filter({ hasText: 'Reported by the instrumentation' });
      if (shown === null) {
        assert.equal(await reported.count(), 0, `${span.name}: the same figure, not shown twice`);
      } else {
        assert.equal((await reported.locator('td.num').last().innerText()).trim(), shown);
      }
    }
    assert.equal(calls[1].cost.total, 0.0035, 'the second call reports agentrace price exactly');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
});
