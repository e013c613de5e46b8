// Overview: the range's requests, errors, latency, tokens and cost, as numbers and over time;
// the SLOs at risk; the costliest models, agents, users and sessions. Live: refreshed as spans
// arrive.

import { html, useMemo, useState } from '../lib/html.js';
import { useApi } from '../lib/api.js';
import { apiRange } from '../lib/range.js';
import { changesSpans, useLiveRefresh } from '../lib/live.js';
import { withQuery } from '../lib/router.js';
import * as fmt from '../lib/format.js';
import { Card, Pending, Stat } from '../components/common.js';
import { TimeChart } from '../components/chart.js';
import { BarList } from '../components/bar-list.js';
import { SlosAtRisk } from './slos.js';

/**
 * @import { ApiState } from '../lib/api.js'
 * @import { Range } from '../lib/range.js'
 * @import { Series as ChartSeries } from '../lib/series.js'
 */

const COLORS = {
  requests: '#60a5fa',
  errors: '#f87171',
  p50: '#34d399',
  p95: '#fbbf24',
  p99: '#f87171',
  input: '#818cf8',
  output: '#22d3ee',
  cacheRead: '#a3e635',
  cacheWrite: '#f472b6',
  reasoning: '#fb923c',
  cost: '#c084fc',
};

/** The top users and sessions are read from every trace of the range (not from rollups):
 * refreshed on every sixth live refresh (about every 30 s) rather than each. */
const TOPS_EVERY = 6;

/** @param {number | null | undefined} ns */
const ms = (ns) => (ns === null || ns === undefined ? null : ns / 1e6);

/** @param {{ overview: Api.Overview }} props */
function Series({ overview }) {
  const s = overview.series;
  const charts = useMemo(() => {
    const times = s.map((p) => p.start_unix_nano / 1e9);
    /** @param {(point: Api.SeriesPoint) => number | null} f */
    const pick = (f) => s.map(f);
    /** @type {{ times: number[], requests: ChartSeries[], latency: ChartSeries[], tokens: ChartSeries[], cost: ChartSeries[] }} */
    const all = {
      times,
      requests: [
        { label: 'LLM calls', color: COLORS.requests, values: pick((p) => p.requests), kind: 'bar' },
        { label: 'failed', color: COLORS.errors, values: pick((p) => p.errors), kind: 'bar' },
      ],
      latency: [
        { label: 'p50', color: COLORS.p50, values: pick((p) => ms(p.latency?.p50_ns)) },
        { label: 'p95', color: COLORS.p95, values: pick((p) => ms(p.latency?.p95_ns)) },
        { label: 'p99', color: COLORS.p99, values: pick((p) => ms(p.latency?.p99_ns)) },
      ],
      tokens: [
        { label: 'input', color: COLORS.input, values: pick((p) => p.usage.input_tokens), kind: 'bar' },
        { label: 'output', color: COLORS.output, values: pick((p) => p.usage.output_tokens), kind: 'bar' },
      ],
      cost: [{ label: 'cost', color: COLORS.cost, values: pick((p) => p.cost), kind: 'area' }],
    };
    return all;
  }, [s]);
  return html`<div class="grid two">
    <${Card} title="LLM calls and failures"><${TimeChart} times=${charts.times} series=${charts.requests} format=${fmt.compact} /></${Card}>
    <${Card} title="LLM latency"><${TimeChart} times=${charts.times} series=${charts.latency} format=${(/** @type {number} */ v) => fmt.duration(v * 1e6)} /></${Card}>
    <${Card} title="Tokens"><${TimeChart} times=${charts.times} series=${charts.tokens} format=${fmt.compact} /></${Card}>
    <${Card} title="Cost"><${TimeChart} times=${charts.times} series=${charts.cost} format=${(/** @type {number} */ v) => fmt.usd(v)} /></${Card}>
  </div>`;
}

/** @param {{ o: Api.Overview }} props */
function Numbers({ o }) {
  const u = o.usage;
  const latency = o.latency;
  return html`<div class="stats">
    <${Stat} label="LLM calls" value=${fmt.count(o.requests)} detail=${`${fmt.count(o.traces)} traces · ${fmt.count(o.spans)} spans`} />
    <${Stat}
      label="Errors"
      value=${fmt.count(o.errors)}
      tone=${o.errors ? 'bad' : ''}
      detail=${`${fmt.percent(o.error_rate)} of calls · ${fmt.count(o.span_errors)} failed spans`}
    />
    <${Stat}
      label="Latency p95"
      value=${latency ? fmt.duration(latency.p95_ns) : '—'}
      detail=${latency ? `p50 ${fmt.duration(latency.p50_ns)} · p99 ${fmt.duration(latency.p99_ns)} (LLM calls)` : 'no LLM calls'}
    />
    <${Stat}
      label="Tokens"
      value=${fmt.compact(fmt.totalTokens(u))}
      detail=${`in ${fmt.compact(u.input_tokens)} · out ${fmt.compact(u.output_tokens)} · cache read ${fmt.compact(u.cache_read_tokens)} · cache write ${fmt.compact(u.cache_write_tokens)} · reasoning ${fmt.compact(u.reasoning_tokens)}`}
    />
    <${Stat}
      label="Cost"
      value=${fmt.usd(o.cost)}
      tone=${o.unpriced ? 'warn' : ''}
      detail=${o.unpriced ? `${fmt.count(o.unpriced)} unpriced calls (${fmt.compact(fmt.totalTokens(o.unpriced_usage))} tokens) not included` : `${fmt.count(o.priced)} priced calls`}
    />
  </div>`;
}

/** @param {{ o: Api.Overview, range: Range, refresh: number }} props */
function Tops({ o, range, refresh }) {
  const r = apiRange(range);
  /** @type {ApiState<Api.Users>} */
  const users = useApi('/users', { ...r, sort: 'cost', limit: 6 }, refresh);
  /** @type {ApiState<Api.Sessions>} */
  const sessions = useApi('/sessions', { ...r, sort: 'cost', limit: 6 }, refresh);
  /** @param {Api.CostRow} row */
  const cost = (row) => ({ cost: row.cost, unpriced: row.unpriced, calls: row.calls });
  return html`<div class="grid four">
    <${Card} title="Models by cost">
      <${BarList} rows=${o.by_model.slice(0, 6).map((row) => ({ label: row.keys.model ?? '(none)', href: withQuery('/cost', { group_by: 'model', model: row.keys.model }), ...cost(row) }))} />
    </${Card}>
    <${Card} title="Agents by cost">
      <${BarList} rows=${o.by_agent.slice(0, 6).map((row) => ({ label: row.keys.agent ?? '(no agent)', href: row.keys.agent ? withQuery('/traces', { agent: row.keys.agent }) : undefined, ...cost(row) }))} />
    </${Card}>
    <${Card} title="Users by cost">
      ${users.data
        ? html`<${BarList} rows=${users.data.users.map((u) => ({ label: u.user_id, href: withQuery('/traces', { user: u.user_id }), cost: u.cost, unpriced: u.unpriced, calls: u.traces, unit: 'traces' }))} empty="No user ids in this range." />`
        : html`<${Pending} state=${users} />`}
    </${Card}>
    <${Card} title="Sessions by cost">
      ${sessions.data
        ? html`<${BarList} rows=${sessions.data.sessions.map((s) => ({ label: s.session_id, href: `/sessions/${encodeURIComponent(s.session_id)}`, cost: s.cost, unpriced: s.unpriced, calls: s.traces, unit: 'traces' }))} empty="No sessions in this range." />`
        : html`<${Pending} state=${sessions} />`}
    </${Card}>
  </div>`;
}

/** @param {{ range: Range }} props */
export function Overview({ range }) {
  const [refresh, setRefresh] = useState(0);
  /** @type {ApiState<Api.Overview>} */
  const state = useApi('/overview', apiRange(range), refresh);
  useLiveRefresh({}, () => setRefresh((n) => n + 1), {
    enabled: range.follows,
    everyMs: 5000,
    when: changesSpans,
  });
  const o = state.data;
  if (!o) return html`<${Pending} state=${state} />`;
  if (!o.spans) {
    return html`<div class="empty large">
      <h2>No spans in this range yet</h2>
      <p>Point an OpenTelemetry exporter at this server's OTLP port (4318 by default: <code>OTEL_EXPORTER_OTLP_ENDPOINT=http://${location.hostname}:4318</code>), or widen the time range.</p>
    </div>`;
  }
  return html`<div class="view overview">
    <${Numbers} o=${o} />
    <${SlosAtRisk} refresh=${Math.floor(refresh / TOPS_EVERY)} />
    <${Series} overview=${o} />
    <${Tops} o=${o} range=${range} refresh=${Math.floor(refresh / TOPS_EVERY)} />
  </div>`;
}
