// Service level objectives in words and numbers, from `/slos` answers (docs/slos.md). Pure
// functions.

const TARGETS = { agent_runs: 'agent runs', llm_calls: 'LLM calls', tool_calls: 'tool calls' };
const KINDS = { agent_runs: 'agent', llm_calls: 'llm', tool_calls: 'tool' };

/** Seconds per unit of the durations the API writes (humantime's: `28days`, `6h 30m`). */
const UNITS = {
  ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, sec: 1, m: 60, min: 60, h: 3600, hour: 3600, hours: 3600,
  d: 86400, day: 86400, days: 86400, w: 604800, week: 604800, weeks: 604800,
  M: 2630016, month: 2630016, months: 2630016, y: 31557600, year: 31557600, years: 31557600,
};

/** The seconds of a duration the API wrote (`3days 6h` → 280800); NaN if it is not one. */
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

/** How long until a budget runs out, to people's precision: `163 days`, `5.3 h`, `42 min`;
 * `—` for none. */
export function timeLeft(text) {
  if (text === null || text === undefined) return '—';
  const s = seconds(text);
  if (Number.isNaN(s)) return text;
  if (s >= 2 * 86400) return `${Math.round(s / 86400)} days`;
  if (s >= 2 * 3600) return `${(s / 3600).toFixed(1)} h`;
  return `${Math.max(1, Math.round(s / 60))} min`;
}

/** A scope as `agent=support · model=gpt-4o` ('' for everything). */
export function scopeText(scope = {}) {
  return Object.entries(scope)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join(' · ');
}

/** What an SLO promises, in words: "95 % of agent runs without error". */
export function promise(slo) {
  const share = `${+(slo.objective * 100).toFixed(3)} %`;
  const i = slo.indicator;
  const of = TARGETS[i.of ?? i.total?.of] ?? 'events';
  if (i.type === 'success') return `${share} of ${of} without error`;
  if (i.type === 'latency') return `${share} of ${of} within ${i.threshold}`;
  if (i.type === 'ratio') {
    const count = (c) => [TARGETS[c.of], scopeText(c.scope), c.status && `status ${c.status}`].filter(Boolean).join(' · ');
    return `${share} of ${count(i.total)} are ${count(i.good)}`;
  }
  return `${share} of ${of}`;
}

/** An SLO's window in words: `28days`, or `this month (UTC)` for a calendar one. */
export function windowText(slo) {
  return slo.calendar ? `this ${slo.calendar} (UTC)` : slo.window;
}

/** The burn rate now: over the shortest long window of its alerts (what `exhausted_in` is
 * judged on), else over the whole window. */
export function burnNow(status) {
  const longs = status.alerts.map((a) => a.long);
  const shortest = longs.sort((a, b) => seconds(a) - seconds(b))[0];
  const reading = status.burn_rates.find((r) => r.window === shortest);
  return { window: reading ? shortest : windowText(status.slo), rate: reading ? reading.burn_rate : status.burn_rate };
}

/** Why an SLO is at risk, or null: a burn-rate alert fires, its budget is spent, or less than
 * a quarter of it is left. */
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

/** The query of the trace list that holds an SLO's bad events over the window it was judged
 * on (`status.since_unix_nano` to `nowMs`): its scope, the target's kind, failed (or slower
 * than the threshold). */
export function badTracesQuery(status, nowMs) {
  const slo = status.slo;
  const i = slo.indicator;
  const target = i.of ?? i.total?.of;
  const q = {
    service: slo.scope?.service,
    agent: slo.scope?.agent,
    model: slo.scope?.model,
    kind: KINDS[target],
    from: String(Math.round(status.since_unix_nano / 1e6)),
    to: String(Math.round(nowMs)),
  };
  if (i.type === 'latency') q.min_duration = i.threshold;
  else q.status = 'error';
  return q;
}
