// Service level objectives in words and numbers, from `/slos` answers (docs/slos.md). Pure
// functions.

import { usd } from './format.js';

/** @typedef {Api.Slo['indicator']} Indicator */

/** @type {Record<string, string>} */
const TARGETS = { agent_runs: 'agent runs', llm_calls: 'LLM calls', tool_calls: 'tool calls' };
/** @type {Record<string, string>} */
const KINDS = { agent_runs: 'agent', llm_calls: 'llm', tool_calls: 'tool' };

/**
 * The spans an indicator counts (a ratio's: its total's): agent runs, LLM calls or tool
 * calls; nothing for a quality indicator (scores) nor a cost one (traces, sessions or agent
 * runs, each judged whole).
 * @param {Indicator} i
 */
const counted = (i) => (i.type === 'success' || i.type === 'latency' ? i.of : i.type === 'ratio' ? i.total.of : undefined);

/**
 * Seconds per unit of the durations the API writes (`28d`, `6h 30m`, `250ms`), the units of
 * the configuration files.
 * @type {Record<string, number>}
 */
const UNITS = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400 };

/**
 * The seconds of a duration the API wrote (`3d 6h` → 280800); NaN if it is not one.
 * @param {string} text
 */
export function seconds(text) {
  const parts = String(text).trim().split(/\s+/);
  let total = 0;
  for (const part of parts) {
    const m = /^(\d+(?:\.\d+)?)([a-zA-Z]+)$/.exec(part);
    if (!m || !(m[2] in UNITS)) return NaN;
    total += Number(m[1]) * UNITS[m[2]];
  }
  return parts.length ? total : NaN;
}

/**
 * How long until a budget runs out, to people's precision: `163 days`, `5.3 h`, `42 min`;
 * `—` for none.
 * @param {string | null | undefined} text
 */
export function timeLeft(text) {
  if (text === null || text === undefined) return '—';
  const s = seconds(text);
  if (Number.isNaN(s)) return text;
  if (s >= 2 * 86400) return `${Math.round(s / 86400)} days`;
  if (s >= 2 * 3600) return `${(s / 3600).toFixed(1)} h`;
  return `${Math.max(1, Math.round(s / 60))} min`;
}

/**
 * A scope as `agent=support · model=gpt-4o` ('' for everything).
 * @param {Partial<Api.Scope>} [scope]
 */
export function scopeText(scope = {}) {
  return Object.entries(scope)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join(' · ');
}

/**
 * What an SLO promises, in words: "95 % of agent runs without error".
 * @param {Api.Slo} slo
 */
export function promise(slo) {
  const share = `${+(slo.objective * 100).toFixed(3)} %`;
  const i = slo.indicator;
  const target = counted(i);
  const of = (target && TARGETS[target]) ?? 'events';
  if (i.type === 'success') return `${share} of ${of} without error`;
  if (i.type === 'latency') return `${share} of ${of} within ${i.threshold}`;
  if (i.type === 'ratio') {
    /** @param {Api.SloCount} c */
    const count = (c) => [TARGETS[c.of], scopeText(c.scope), c.status && `status ${c.status}`].filter(Boolean).join(' · ');
    return `${share} of ${count(i.total)} are ${count(i.good)}`;
  }
  if (i.type === 'quality') return `${share} of ${i.score} scores ${passText(i)}`;
  if (i.type === 'cost') return `${share} of ${TARGETS[i.of] ?? i.of} at most ${usd(i.max_usd)}`;
  return `${share} of ${of}`;
}

/**
 * Which scores pass a quality indicator, in words: "at least 0.7 or labelled correct".
 * @param {Extract<Indicator, { type: 'quality' }>} i
 */
export function passText(i) {
  const values = i.min != null && i.max != null ? `from ${i.min} to ${i.max}`
    : i.min != null ? `at least ${i.min}`
    : i.max != null ? `at most ${i.max}` : null;
  const labels = i.labels?.length ? `labelled ${i.labels.join(' or ')}` : null;
  return [values, labels].filter(Boolean).join(' or ');
}

/**
 * An SLO's window in words: `28d`, or `this month (UTC)` for a calendar one.
 * @param {Pick<Api.Slo, 'calendar' | 'window'>} slo
 */
export function windowText(slo) {
  return slo.calendar ? `this ${slo.calendar} (UTC)` : slo.window;
}

/**
 * The burn rate now: over the shortest long window of its alerts (what `exhausted_in` is
 * judged on), else over the whole window.
 * @param {Api.SloStatus} status
 */
export function burnNow(status) {
  const longs = status.alerts.map((a) => a.long);
  const shortest = longs.sort((a, b) => seconds(a) - seconds(b))[0];
  const reading = status.burn_rates.find((r) => r.window === shortest);
  return { window: reading ? shortest : windowText(status.slo), rate: reading ? reading.burn_rate : status.burn_rate };
}

/**
 * Why an SLO is at risk, or null: a burn-rate alert fires, its budget is spent, or less than
 * a quarter of it is left.
 * @param {Api.SloStatus} status
 * @returns {{ level: 'bad' | 'warn', reason: string } | null}
 */
export function risk(status) {
  const firing = status.alerts.filter((a) => a.firing);
  if (firing.length) {
    const worst = firing.find((a) => a.severity === 'critical') ?? firing[0];
    return { level: worst.severity === 'critical' ? 'bad' : 'warn', reason: `burning ${worst.factor}× over ${worst.long} and ${worst.short}` };
  }
  const left = status.budget_remaining;
  if (left !== null && left <= 0) return { level: 'bad', reason: 'error budget spent' };
  if (left !== null && left < 0.25) return { level: 'warn', reason: `${Math.round(left * 100)} % of the budget left` };
  return null;
}

/**
 * The query of the trace list that holds an SLO's bad events over the window it was judged
 * on (`status.since_unix_nano` to `nowMs`): its scope, the target's kind, failed (or slower
 * than the threshold); for a quality objective, the traces with its score, lowest first; for
 * a cost one, its traces (of agent runs: the traces holding them), dearest first.
 * @param {Api.SloStatus} status
 * @param {number} nowMs
 * @returns {Record<string, string | null | undefined>}
 */
export function badTracesQuery(status, nowMs) {
  const slo = status.slo;
  const i = slo.indicator;
  const window = { from: String(Math.round(status.since_unix_nano / 1e6)), to: String(Math.round(nowMs)) };
  if (i.type === 'quality') return { score: i.score, sort: 'score', order: 'asc', ...window };
  if (i.type === 'cost') {
    const scope = { service: slo.scope?.service, agent: slo.scope?.agent, user: slo.scope?.user };
    return { ...scope, sort: 'cost', order: 'desc', ...window };
  }
  const target = counted(i);
  /** @type {Record<string, string | null | undefined>} */
  const q = {
    service: slo.scope?.service,
    agent: slo.scope?.agent,
    model: slo.scope?.model,
    kind: target && KINDS[target],
    ...window,
  };
  if (i.type === 'latency') q.min_duration = i.threshold;
  else q.status = 'error';
  return q;
}
