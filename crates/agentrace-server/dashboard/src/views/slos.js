// SLOs: each service level objective with its attainment, the error budget left, the burn rate
// now and when the budget runs out; one SLO with its burn-down over its window, its burn-rate
// alerts and the runs that spent its budget. Refreshed every 30 seconds (the rollups move by
// the minute).

import { html, useEffect, useMemo, useState } from '../lib/html.js';
import { useApi } from '../lib/api.js';
import { useActive } from '../lib/live.js';
import { withQuery } from '../lib/router.js';
import * as fmt from '../lib/format.js';
import { badTracesQuery, burnNow, promise, risk, scopeText, timeLeft, windowText } from '../lib/slo.js';
import { Card, Empty, Facts, Pending, Stat } from '../components/common.js';
import { TimeChart } from '../components/chart.js';

/**
 * @import { ApiState } from '../lib/api.js'
 * @import { Series } from '../lib/series.js'
 */

const REFRESH_MS = 30000;

/** A counter that moves every `REFRESH_MS` while the tab is shown. */
function useTicks() {
  const [tick, setTick] = useState(0);
  const active = useActive();
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(() => setTick((n) => n + 1), REFRESH_MS);
    return () => clearInterval(timer);
  }, [active]);
  return tick;
}

/** @param {number | null | undefined} r */
const rate = (r) => (r === null || r === undefined ? '—' : `${r < 10 ? r.toFixed(2) : r.toFixed(1)}×`);
/** @param {number | null | undefined} v */
const share = (v) => (v === null || v === undefined ? '—' : fmt.percent(v, 2));

const TEXT = { bad: 'error-text', warn: 'warn-text', good: 'ok-text' };

/**
 * The share of the budget left as a bar (amber under a quarter, red when spent).
 * @param {{ left: number | null | undefined }} props
 */
export function BudgetBar({ left }) {
  if (left === null || left === undefined) return html`<span class="muted">no events</span>`;
  const tone = left <= 0 ? 'bad' : left < 0.25 ? 'warn' : 'good';
  return html`<div class="budget-left">
    <div class=${`meter ${tone}`}><div style=${{ width: `${Math.max(0, Math.min(1, left)) * 100}%` }}></div></div>
    <span class=${TEXT[tone]}>${fmt.percent(left, 1)}</span>
  </div>`;
}

/**
 * The SLOs at risk (a burn alert firing, or little budget left), for the overview.
 * @param {{ refresh: number }} props
 */
export function SlosAtRisk({ refresh }) {
  /** @type {ApiState<Api.Responses['/slos']>} */
  const state = useApi('/slos', {}, refresh);
  const slos = state.data?.slos ?? [];
  const at = slos.flatMap((s) => {
    const r = risk(s);
    return r ? [{ s, r }] : [];
  });
  if (!slos.length) return null;
  return html`<${Card} title="SLOs at risk" class="slos-at-risk" actions=${html`<a href="/slos">All ${fmt.count(slos.length)} SLOs</a>`}>
    ${at.length
      ? html`<ul class="risk-list">
          ${at.map(({ s, r }) => html`<li>
            <a href=${`/slos/${encodeURIComponent(s.slo.name)}`} class="risk-name">${s.slo.name}</a>
            <span class=${TEXT[r.level]}>${r.reason}</span>
            <${BudgetBar} left=${s.budget_remaining} />
          </li>`)}
        </ul>`
      : html`<div class="muted">All ${fmt.count(slos.length)} SLOs are within their budgets.</div>`}
  </${Card}>`;
}

/** @param {{ slos: Api.SloStatus[] }} props */
function SloTable({ slos }) {
  return html`<table class="table slos-table">
    <thead><tr><th>SLO</th><th class="num">Attainment</th><th>Budget left</th><th class="num">Burn now</th><th class="num">Runs out in</th><th>State</th></tr></thead>
    <tbody>
      ${slos.map((s) => {
        const r = risk(s);
        const now = burnNow(s);
        return html`<tr class=${r ? r.level : ''}>
          <th scope="row"><a href=${`/slos/${encodeURIComponent(s.slo.name)}`}>${s.slo.name}</a><span class="sub">${promise(s.slo)} over ${windowText(s.slo)}${scopeText(s.slo.scope) && ` · ${scopeText(s.slo.scope)}`}</span></th>
          <td class="num">${share(s.attainment)}<span class="sub">${fmt.count(s.counts.good)} of ${fmt.count(s.counts.total)}</span></td>
          <td><${BudgetBar} left=${s.budget_remaining} /></td>
          <td class="num" title=${`over ${now.window}`}>${rate(now.rate)}<span class="sub">over ${now.window}</span></td>
          <td class="num" title=${s.exhausted_in ?? ''}>${timeLeft(s.exhausted_in)}</td>
          <td>${r ? html`<span class=${`badge ${r.level}`}>${r.reason}</span>` : html`<span class="ok-text">within budget</span>`}</td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

export function Slos() {
  /** @type {ApiState<Api.Responses['/slos']>} */
  const state = useApi('/slos', {}, useTicks());
  const d = state.data;
  if (!d) return html`<${Pending} state=${state} />`;
  if (!d.slos.length) {
    return html`<${Empty}>No SLOs: define them in the alerts file (<code>[[slo]]</code>, see docs/slos.md) and start the server with <code>--alerts</code>.</${Empty}>`;
  }
  const risky = d.slos.flatMap((s) => risk(s) ?? []);
  const firing = d.slos.reduce((n, s) => n + s.alerts.filter((a) => a.firing).length, 0);
  const spent = d.slos.filter((s) => s.budget_remaining !== null && s.budget_remaining <= 0).length;
  return html`<div class="view slos">
    <div class="stats">
      <${Stat} label="Objectives" value=${fmt.count(d.slos.length)} detail=${`judged at ${fmt.timeOfDay(Date.parse(d.at) * 1e6).slice(0, 8)}`} />
      <${Stat} label="At risk" value=${fmt.count(risky.length)} tone=${risky.some((r) => r.level === 'bad') ? 'bad' : risky.length ? 'warn' : 'good'} detail=${`${fmt.count(spent)} with the budget spent`} />
      <${Stat} label="Burn alerts firing" value=${fmt.count(firing)} tone=${firing ? 'bad' : 'good'} detail="multi-window, multi-burn-rate" />
    </div>
    <${Card} title="Service level objectives"><${SloTable} slos=${d.slos} /></${Card}>
  </div>`;
}

/** @param {{ points: Api.BudgetPoint[] }} props */
function BurnDown({ points }) {
  const chart = useMemo(() => /** @type {{ times: number[], series: Series[] }} */ ({
    times: points.map((p) => p.time_unix_nano / 1e9),
    series: [
      { label: 'budget left', color: '#34d399', values: points.map((p) => (p.budget_remaining === null ? null : p.budget_remaining * 100)), kind: 'area' },
    ],
  }), [points]);
  /**
   * @param {number | null} min
   * @param {number | null} max
   * @returns {[number, number]}
   */
  const yRange = (min, max) => [Math.min(0, min ?? 0) * 1.05, Math.max(100, max ?? 100) * 1.05];
  return html`<${TimeChart} times=${chart.times} series=${chart.series} format=${(/** @type {number} */ v) => `${Math.round(v)} %`} yRange=${yRange} height=${220} />`;
}

/** @param {{ status: Api.SloStatus }} props */
function BurnAlerts({ status }) {
  /** @param {string} w */
  const reading = (w) => status.burn_rates.find((r) => r.window === w)?.burn_rate;
  return html`<table class="table compact burn-alerts">
    <thead><tr><th>Windows</th><th class="num">Factor</th><th class="num">Burn (long)</th><th class="num">Burn (short)</th><th>Severity</th><th>State</th></tr></thead>
    <tbody>
      ${status.alerts.map((a) => html`<tr class=${a.firing ? 'firing' : ''}>
        <th scope="row">${a.long} / ${a.short}</th>
        <td class="num">${a.factor}×</td>
        <td class="num">${rate(reading(a.long))}</td>
        <td class="num">${rate(reading(a.short))}</td>
        <td>${a.severity}</td>
        <td>${a.firing ? html`<span class=${`badge ${a.severity === 'critical' ? 'bad' : 'warn'}`}>firing</span>` : html`<span class="ok-text">ok</span>`}</td>
      </tr>`)}
    </tbody>
  </table>`;
}

/**
 * The runs that spent the budget (null: the indicator's bad events are not one filter).
 * @param {{ status: Api.SloStatus, events: Api.BadEvent[] | null, nowMs: number }} props
 */
function BadEvents({ status, events, nowMs }) {
  const all = withQuery('/traces', badTracesQuery(status, nowMs));
  const what = status.slo.indicator.type === 'latency' ? 'slower than the threshold' : 'failed';
  if (events === null && status.slo.indicator.type === 'quality') {
    return html`<${Empty}>Its bad events are scores that did not pass: <a href=${all}>the traces scored ${status.slo.indicator.score}, lowest first</a>.</${Empty}>`;
  }
  if (events === null && status.slo.indicator.type === 'cost') {
    return html`<${Empty}>Its bad events are the ${status.slo.indicator.of} that cost more: <a href=${all}>the traces of the window, dearest first</a>.</${Empty}>`;
  }
  if (events === null) {
    return html`<${Empty}>This ratio's bad events are not one filter: <a href=${all}>the failures of its traces</a>.</${Empty}>`;
  }
  if (!events.length) return html`<${Empty}>Nothing ${what} in the window.</${Empty}>`;
  return html`<div>
    <table class="table compact bad-events">
      <thead><tr><th>Started</th><th>Run</th><th>Agent</th><th class="num">Duration</th><th>Error</th></tr></thead>
      <tbody>
        ${events.map((e) => html`<tr>
          <td title=${fmt.dateTime(e.start_unix_nano)}>${fmt.ago(e.start_unix_nano)}</td>
          <th scope="row"><a href=${withQuery(`/traces/${e.trace_id}`, { span: e.span_id })}>${e.name}</a></th>
          <td>${e.agent_name ?? html`<span class="muted">—</span>`}</td>
          <td class="num">${fmt.duration(e.duration_ns)}</td>
          <td class="error-text">${e.error ?? ''}</td>
        </tr>`)}
      </tbody>
    </table>
    <p class="total-line"><a href=${all}>Every trace with a run ${what} in the window →</a></p>
  </div>`;
}

/** @param {{ params: Record<string, string> }} props */
export function SloPage({ params }) {
  /** @type {ApiState<Api.SloDetail>} */
  const state = useApi(`/slos/${encodeURIComponent(params.name)}`, { points: 56 }, useTicks());
  const d = state.data;
  if (!d) return html`<${Pending} state=${state} />`;
  const r = risk(d);
  const now = burnNow(d);
  const nowMs = Date.parse(d.at);
  return html`<div class="view slo">
    <div class="slo-head">
      <h2>${d.slo.name}</h2>
      <p class="muted">${d.slo.description ?? promise(d.slo)}</p>
      ${r && html`<span class=${`badge ${r.level}`}>${r.reason}</span>`}
    </div>
    <div class="stats">
      <${Stat} label="Attainment" value=${share(d.attainment)} tone=${d.attainment !== null && d.attainment < d.slo.objective ? 'bad' : 'good'} detail=${`objective ${fmt.percent(d.slo.objective, 2)} · ${fmt.count(d.counts.good)} of ${fmt.count(d.counts.total)} good`} />
      <${Stat} label="Budget left" value=${d.budget_remaining === null ? '—' : fmt.percent(d.budget_remaining, 1)} tone=${r ? r.level : 'good'} detail=${`${fmt.percent(d.error_budget, 2)} of events may be bad over ${windowText(d.slo)}`} />
      <${Stat} label="Burn rate now" value=${rate(now.rate)} tone=${now.rate !== null && now.rate > 1 ? 'warn' : ''} detail=${`over ${now.window}; ${rate(d.burn_rate)} over the window`} />
      <${Stat} label="Budget runs out in" value=${timeLeft(d.exhausted_in)} detail=${d.exhausted_in ? 'at the burn rate now' : d.budget_remaining !== null && d.budget_remaining <= 0 ? 'spent already' : 'not burning faster than it refills'} />
    </div>
    <${Card} title=${d.slo.calendar ? `Error budget left, each point of its ${d.slo.calendar} so far` : `Error budget left over the last ${d.slo.window}`}><${BurnDown} points=${d.burn_down} /></${Card}>
    <div class="grid two">
      <${Card} title="Burn-rate alerts"><${BurnAlerts} status=${d} /></${Card}>
      <${Card} title="Definition"><${Facts} items=${[
        ['Promise', promise(d.slo)],
        ['Window', d.slo.calendar ? `the calendar ${d.slo.calendar}, UTC` : `${d.slo.window}, rolling`],
        ['Of', scopeText(d.slo.scope) || 'everything'],
        ['Error budget', fmt.percent(d.error_budget, 2)],
      ]} /></${Card}>
    </div>
    <${Card} title="What spent the budget"><${BadEvents} status=${d} events=${d.bad_events} nowMs=${nowMs} /></${Card}>
  </div>`;
}
