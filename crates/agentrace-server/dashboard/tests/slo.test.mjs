import assert from 'node:assert/strict';
import { test } from 'node:test';

import { badTracesQuery, burnNow, promise, risk, scopeText, seconds, timeLeft, windowText } from '../src/lib/slo.js';

/** An SLO status as `/slos` answers it. */
function status({ left = 0.6, firing = [], rates = {} } = {}) {
  const alerts = [
    { long: '1h', short: '5m', factor: 14.4, severity: 'critical' },
    { long: '6h', short: '30m', factor: 6, severity: 'critical' },
    { long: '3d', short: '6h', factor: 1, severity: 'warning' },
  ].map((a) => ({ ...a, firing: firing.includes(a.long) }));
  const windows = ['5m', '30m', '1h', '6h', '3d'];
  return {
    slo: {
      name: 'support runs succeed',
      scope: { agent: 'support', model: null },
      indicator: { type: 'success', of: 'agent_runs' },
      objective: 0.95,
      window: '28d',
    },
    budget_remaining: left,
    burn_rate: 0.4,
    burn_rates: windows.map((w) => ({ window: w, counts: { good: 1, total: 1 }, burn_rate: rates[w] ?? 0.5 })),
    alerts,
  };
}

test('durations read as the API writes them', () => {
  assert.equal(seconds('28d'), 28 * 86400);
  assert.equal(seconds('3d 6h'), 3 * 86400 + 6 * 3600);
  assert.equal(seconds('1h 30m 15s'), 5415);
  assert.equal(seconds('800ms'), 0.8);
  assert.ok(Number.isNaN(seconds('soon')));
  assert.ok(Number.isNaN(seconds('')));
});

test('a promise in words, for each indicator', () => {
  const slo = status().slo;
  assert.equal(promise(slo), '95 % of agent runs without error');
  assert.equal(promise({ ...slo, objective: 0.999, indicator: { type: 'latency', of: 'tool_calls', threshold: '2s' } }), '99.9 % of tool calls within 2s');
  const ratio = {
    type: 'ratio',
    total: { of: 'llm_calls', scope: {} },
    good: { of: 'llm_calls', scope: { model: 'small' }, status: 'ok' },
  };
  assert.equal(promise({ ...slo, indicator: ratio }), '95 % of LLM calls are LLM calls · model=small · status ok');
  const quality = (pass) => promise({ ...slo, objective: 0.9, indicator: { type: 'quality', score: 'groundedness', ...pass } });
  assert.equal(quality({ min: 0.7 }), '90 % of groundedness scores at least 0.7');
  assert.equal(quality({ max: 2 }), '90 % of groundedness scores at most 2');
  assert.equal(quality({ min: 0.2, max: 0.8, labels: ['ok', 'fine'] }), '90 % of groundedness scores from 0.2 to 0.8 or labelled ok or fine');
  assert.equal(quality({ min: 0, labels: [] }), '90 % of groundedness scores at least 0');
  assert.equal(promise({ ...slo, indicator: { type: 'cost', of: 'traces', max_usd: 0.4 } }), '95 % of traces at most $0.400');
  assert.equal(promise({ ...slo, indicator: { type: 'cost', of: 'sessions', max_usd: 2 } }), '95 % of sessions at most $2.00');
  assert.equal(promise({ ...slo, indicator: { type: 'cost', of: 'agent_runs', max_usd: 0.1 } }), '95 % of agent runs at most $0.100');
  assert.equal(scopeText({ agent: 'a', model: null, user: 'u' }), 'agent=a · user=u');
  assert.equal(scopeText({}), '');
});

test('the burn rate now is the shortest long window of the alerts', () => {
  assert.deepEqual(burnNow(status({ rates: { '1h': 3.5 } })), { window: '1h', rate: 3.5 });
  const none = { ...status(), alerts: [] };
  assert.deepEqual(burnNow(none), { window: '28d', rate: 0.4 });
});

test('at risk: a firing alert (the critical one named), a spent budget, or under a quarter left', () => {
  assert.equal(risk(status()), null);
  assert.deepEqual(risk(status({ firing: ['3d'] })), { level: 'warn', reason: 'burning 1× over 3d and 6h' });
  assert.deepEqual(risk(status({ firing: ['3d', '6h'] })), { level: 'bad', reason: 'burning 6× over 6h and 30m' });
  assert.deepEqual(risk(status({ left: -0.2 })), { level: 'bad', reason: 'error budget spent' });
  assert.deepEqual(risk(status({ left: 0.1 })), { level: 'warn', reason: '10 % of the budget left' });
  assert.equal(risk(status({ left: null })), null, 'no events, no risk');
});

test('the bad runs are the failed (or slow) ones of the scope over the window judged', () => {
  const now = Date.UTC(2026, 10, 26, 12);
  const s = { ...status(), since_unix_nano: (now - 28 * 86400e3) * 1e6 };
  assert.deepEqual(badTracesQuery(s, now), {
    service: undefined,
    agent: 'support',
    model: null,
    kind: 'agent',
    from: String(now - 28 * 86400e3),
    to: String(now),
    status: 'error',
  });
  const slow = badTracesQuery({ ...s, slo: { ...s.slo, indicator: { type: 'latency', of: 'tool_calls', threshold: '2s' } } }, now);
  assert.equal(slow.kind, 'tool');
  assert.equal(slow.min_duration, '2s');
  assert.equal(slow.status, undefined);
  const scored = badTracesQuery({ ...s, slo: { ...s.slo, indicator: { type: 'quality', score: 'groundedness', min: 0.7 } } }, now);
  assert.deepEqual(scored, { score: 'groundedness', sort: 'score', order: 'asc', from: String(now - 28 * 86400e3), to: String(now) });
  const dear = badTracesQuery({ ...s, slo: { ...s.slo, indicator: { type: 'cost', of: 'traces', max_usd: 0.4 } } }, now);
  assert.deepEqual(dear, { service: undefined, agent: 'support', user: undefined, sort: 'cost', order: 'desc', from: String(now - 28 * 86400e3), to: String(now) });
});

test('a calendar window reads as the period it is', () => {
  assert.equal(windowText({ window: '28d' }), '28d');
  assert.equal(windowText({ calendar: 'month' }), 'this month (UTC)');
});

test('the time a budget has left reads to people\'s precision', () => {
  assert.equal(timeLeft('167d 2h 17m'), '167 days');
  assert.equal(timeLeft('5h 20m'), '5.3 h');
  assert.equal(timeLeft('42m'), '42 min');
  assert.equal(timeLeft(null), '—');
});
