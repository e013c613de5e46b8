// Scores: one score over the range — its mean (a boolean's pass rate) and distribution, its
// trend, split by model, agent, service, prompt, source or annotator, two of those side by
// side — with its latest scores, and the online evaluators with what quality costs.

import { html, useMemo, withValue } from '../lib/html.js';
import { useApi } from '../lib/api.js';
import { apiRange, bucketFor, rangeQuery } from '../lib/range.js';
import { setQuery, withQuery } from '../lib/router.js';
import { toggleCompared } from '../lib/queries.js';
import { scoreTrend } from '../lib/series.js';
import * as fmt from '../lib/format.js';
import { Card, Pending, Stat } from '../components/common.js';
import { TimeChart } from '../components/chart.js';
import { SelectFilter } from '../components/filters.js';
import { ScoreList } from '../components/scores.js';

/**
 * @import { ApiState } from '../lib/api.js'
 * @import { Range } from '../lib/range.js'
 * @import { Query } from '../lib/url.js'
 */

/** @typedef {Api.ScoreStats['groups'][number]} Group */
/** @typedef {Api.ScoreStats['kind']} Kind */

/** @type {[string, string][]} */
const SPLITS = [
  ['', 'Nothing (all together)'],
  ['model', 'Model'],
  ['agent', 'Agent'],
  ['service', 'Service'],
  ['prompt', 'Prompt'],
  ['source', 'Source'],
  ['annotator', 'Annotator'],
];
/** @type {[string, string][]} */
const SOURCES = [
  ['', 'Any source'],
  ['eval', 'Evaluations'],
  ['annotation', 'Annotations'],
  ['api', 'The API'],
];
const PALETTE = ['#818cf8', '#22d3ee', '#c084fc', '#34d399', '#fbbf24', '#f472b6', '#60a5fa', '#fb923c'];

/** @param {string | null | undefined} key */
const keyLabel = (key) => (key === null || key === undefined ? '(unknown)' : key);

/**
 * What a group's headline is: a boolean's pass rate, else its mean.
 * @param {Kind} kind
 * @param {Group} g
 */
function headline(kind, g) {
  if (kind === 'boolean') return g.pass_rate === null ? '—' : fmt.percent(g.pass_rate);
  if (kind === 'numeric') return fmt.scoreNumber(g.mean);
  return g.labels[0] ? `${g.labels[0].label} (${fmt.percent(g.labels[0].count / g.count, 0)})` : '—';
}

/**
 * A numeric group's distribution (bars), or its labels' shares.
 * @param {{ group: Group, kind: Kind, max?: number }} props
 */
function Distribution({ group, kind, max }) {
  if (kind === 'numeric' && group.histogram.length) {
    const top = max ?? Math.max(...group.histogram.map((b) => b.count), 1);
    const w = 100 / group.histogram.length;
    return html`<svg class="histogram" viewBox="0 0 100 24" preserveAspectRatio="none" role="img" aria-label=${`Distribution of ${keyLabel(group.key)}`}>
      ${group.histogram.map((b, i) => b.count > 0 && html`<rect x=${i * w + w * 0.1} y=${24 - (b.count / top) * 24} width=${w * 0.8} height=${(b.count / top) * 24}><title>${`${fmt.scoreNumber(b.lower)}–${fmt.scoreNumber(b.upper)}: ${b.count}`}</title></rect>`)}
    </svg>`;
  }
  if (!group.labels.length) return html`<span class="muted small">—</span>`;
  return html`<div class="label-shares">${group.labels.slice(0, 4).map((l) => html`<span class="badge score-label">${l.label} ${fmt.percent(l.count / group.count, 0)}</span>`)}</div>`;
}

/**
 * Two groups side by side.
 * @param {{ kind: Kind, left: Group, right: Group }} props
 */
function Compare({ kind, left, right }) {
  const max = Math.max(...[...left.histogram, ...right.histogram].map((b) => b.count), 1);
  /** @param {Group} g */
  const side = (g) => html`<div class="compare-side">
    <h3>${keyLabel(g.key)}</h3>
    <div class="stats compact">
      <${Stat} label=${kind === 'boolean' ? 'Pass rate' : 'Mean'} value=${headline(kind, g)} />
      <${Stat} label="Scores" value=${fmt.count(g.count)} />
      ${kind === 'numeric' && html`<${Stat} label="Range" value=${`${fmt.scoreNumber(g.min)} – ${fmt.scoreNumber(g.max)}`} />`}
    </div>
    <${Distribution} group=${g} kind=${kind} max=${max} />
  </div>`;
  const a = kind === 'boolean' ? left.pass_rate : left.mean;
  const b = kind === 'boolean' ? right.pass_rate : right.mean;
  const diff = a !== null && b !== null && a !== undefined && b !== undefined ? a - b : null;
  return html`<div class="compare" data-compare="">
    ${side(left)}
    <div class="compare-diff">
      ${diff === null ? html`<span class="muted">—</span>` : html`<span class=${diff >= 0 ? 'ok-text' : 'error-text'}>${diff >= 0 ? '+' : ''}${kind === 'boolean' ? fmt.percent(diff) : fmt.scoreNumber(diff)}</span>`}
      <div class="muted small">left − right</div>
    </div>
    ${side(right)}
  </div>`;
}

/**
 * Means (pass rates) per bucket, a line per group (the eight largest).
 * @param {{ stats: Api.ScoreStats }} props
 */
function Trend({ stats }) {
  const chart = useMemo(() => scoreTrend(stats.groups, PALETTE, keyLabel), [stats]);
  if (!chart.times.length) return html`<div class="empty small">No scores in this range.</div>`;
  const format = stats.kind === 'boolean' ? (/** @type {number} */ v) => fmt.percent(v, 0) : fmt.scoreNumber;
  return html`<${TimeChart} times=${chart.times} series=${chart.series} format=${format} height=${220} />`;
}

/** @param {{ name: string, query: Query, range: Range }} props */
function Stats({ name, query, range }) {
  const bucket = bucketFor(range);
  /** @type {ApiState<Api.ScoreStats>} */
  const state = useApi('/scores/stats', { ...apiRange(range), name, group_by: query.split || 'none', source: query.source, bucket });
  if (!state.data) return html`<${Pending} state=${state} />`;
  const stats = state.data;
  const kind = stats.kind;
  const all = stats.groups.reduce(
    (acc, g) => ({ count: acc.count + g.count, sum: acc.sum + (g.mean ?? 0) * g.count }),
    { count: 0, sum: 0 },
  );
  const compared = (query.compare ?? '').split(',').filter(Boolean);
  /** @param {string | null} key */
  const pick = (key) => {
    const next = toggleCompared(compared, keyLabel(key));
    setQuery({ compare: next.join(',') || null });
  };
  const pair = compared.flatMap((c) => stats.groups.find((g) => keyLabel(g.key) === c) ?? []);
  const max = Math.max(...stats.groups.flatMap((g) => g.histogram.map((b) => b.count)), 1);
  return html`<div class="score-stats">
    <div class="stats">
      <${Stat} label="Scores" value=${fmt.count(stats.count)} detail=${stats.sampled ? 'the newest 20,000 of the range' : `kind ${kind ?? '—'}`} />
      <${Stat} label=${kind === 'boolean' ? 'Pass rate' : 'Mean'} value=${stats.groups.length === 1 ? headline(kind, stats.groups[0]) : kind === 'numeric' || kind === 'boolean' ? (kind === 'boolean' ? fmt.percent(all.sum / Math.max(all.count, 1)) : fmt.scoreNumber(all.sum / Math.max(all.count, 1))) : '—'} />
      <${Stat} label="Groups" value=${fmt.count(stats.groups.length)} detail=${query.split ? `by ${query.split}` : 'not split'} />
    </div>
    <${Card} title=${`${name} over time`}><${Trend} stats=${stats} /></${Card}>
    ${pair.length === 2 && html`<${Card} title="Side by side"><${Compare} kind=${kind} left=${pair[0]} right=${pair[1]} /></${Card}>`}
    <${Card} title=${query.split ? `By ${query.split}` : 'All scores'} actions=${query.split && html`<span class="muted small">Tick two to compare them</span>`}>
      <div class="table-wrap">
        <table class="table score-groups">
          <thead><tr>${query.split && html`<th>Compare</th>`}<th>${query.split ? SPLITS.find(([v]) => v === query.split)?.[1] : 'Scores'}</th><th class="num">Scores</th><th class="num">${kind === 'boolean' ? 'Pass rate' : kind === 'numeric' ? 'Mean' : 'Most given'}</th>${kind === 'numeric' && html`<th class="num">Min</th><th class="num">Max</th>`}<th>Distribution</th></tr></thead>
          <tbody>
            ${stats.groups.map(
              (g) => html`<tr data-group=${keyLabel(g.key)}>
                ${query.split && html`<td><input type="checkbox" aria-label=${`Compare ${keyLabel(g.key)}`} checked=${compared.includes(keyLabel(g.key))} onChange=${() => pick(g.key)} /></td>`}
                <td>${!query.split ? 'All' : g.key === null ? html`<span class="muted">(unknown)</span>` : g.key}</td>
                <td class="num">${fmt.count(g.count)}</td>
                <td class="num">${headline(kind, g)}</td>
                ${kind === 'numeric' && html`<td class="num">${fmt.scoreNumber(g.min)}</td><td class="num">${fmt.scoreNumber(g.max)}</td>`}
                <td class="distribution-cell"><${Distribution} group=${g} kind=${kind} max=${max} /></td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
    </${Card}>
  </div>`;
}

/** The online evaluators, their figures and the judges' spend: the cost of quality. */
function Evaluators() {
  /** @type {ApiState<Api.Evaluators>} */
  const state = useApi('/evaluators', {});
  if (!state.data) return html`<${Pending} state=${state} />`;
  const e = state.data;
  if (!e.configured) return html`<div class="empty small">No online evaluators. Give rules with <code>PUT /api/v1/evaluators/{name}</code>, or start the server with <code>--evaluators evaluators.toml</code> (docs/scores.md), to score spans and traces as they arrive.</div>`;
  const figures = new Map((e.stats?.rules ?? []).map((r) => [r.name, r]));
  return html`<div class="evaluators">
    <div class="stats compact">
      <${Stat} label="Judge spend (since start)" value=${fmt.usd(e.stats?.judge_spend ?? 0)} detail=${`${fmt.count(e.stats?.judge_calls ?? 0)} calls, ${fmt.count(e.stats?.judge_call_errors ?? 0)} failed`} />
      <${Stat} label="Backlog" value=${fmt.count(e.stats?.backlog ?? 0)} detail=${`of ${fmt.count(e.stats?.capacity ?? 0)}`} />
      ${e.budgets.map((b) => html`<${Stat} label=${b.budget} value=${`${fmt.usd(b.spent)} / ${fmt.usd(b.limit)}`} tone=${b.ratio >= 1 ? 'bad' : b.ratio >= 0.8 ? 'warn' : ''} detail="today" />`)}
    </div>
    <div class="table-wrap">
      <table class="table evaluators-table">
        <thead><tr><th>Evaluator</th><th>From</th><th>Check</th><th>Target</th><th class="num">Sample</th><th class="num">Scored</th><th class="num">Passed</th><th class="num">Not applicable</th><th class="num">Errors</th><th>Last error</th></tr></thead>
        <tbody>
          ${e.rules.map((r) => {
            const f = figures.get(r.name) ?? /** @type {Partial<Api.RuleStats>} */ ({});
            return html`<tr>
              <td><a href=${`?name=${encodeURIComponent(r.name)}`}>${r.name}</a></td>
              <td class="small" title=${r.origin === 'api' ? `given through the API, ${fmt.dateTime(r.updated_unix_nano)}` : 'the evaluators file'}>${r.origin === 'api' ? 'API' : 'file'}</td>
              <td><span class="badge">${r.check.type}</span>${r.judge && html` <span class="muted small">${r.judge}</span>`}</td>
              <td>${r.target}</td>
              <td class="num">${fmt.percent(r.sample, 0)}</td>
              <td class="num">${fmt.count(f.scored)}</td>
              <td class="num">${r.check.type === 'llm_judge' ? html`<span class="muted">—</span>` : fmt.count(f.passed)}</td>
              <td class="num">${fmt.count(f.not_applicable)}</td>
              <td class="num">${f.errors ? html`<span class="error-text">${fmt.count(f.errors)}</span>` : '0'}</td>
              <td class="small">${f.last_error ? html`<span class="error-text">${f.last_error}</span>` : html`<span class="muted">—</span>`}</td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>
    ${(e.stats?.not_loaded ?? []).map((n) => html`<div class="error-text small not-loaded">Rule <b>${n.name}</b> is not run on this node: ${n.reason}</div>`)}
  </div>`;
}

/** @param {{ query: Query, range: Range }} props */
export function Scores({ query, range }) {
  /** @type {ApiState<Api.Responses['/scores/names']>} */
  const names = useApi('/scores/names', apiRange(range));
  if (!names.data) return html`<${Pending} state=${names} />`;
  const list = names.data.names;
  const name = query.name && list.some((n) => n.name === query.name) ? query.name : list[0]?.name;
  return html`<div class="view scores-view">
    ${list.length === 0
      ? html`<div class="empty">No scores in this range. Scores come from the API (<code>POST /api/v1/scores</code>), OpenTelemetry's <code>gen_ai.evaluation.result</code>, Phoenix's and Langfuse's clients, annotations in the trace view, and online evaluators.</div>`
      : html`<div class="filter-bar">
            <label class="filter score-name"><span>Score</span>
              <select name="name" value=${name} onChange=${withValue((v) => setQuery({ name: v, compare: null }))}>
                ${list.map((n) => html`<option value=${n.name}>${n.name} (${n.kind}, ${fmt.count(n.count)})</option>`)}
              </select>
            </label>
            <${SelectFilter} name="split" label="Split by" query=${query} options=${SPLITS} />
            <${SelectFilter} name="source" label="Source" query=${query} options=${SOURCES} />
            <a class="filter-link" href=${withQuery('/traces', { ...rangeQuery(range), score: name, sort: 'score', order: 'asc' })}>Its traces, lowest first →</a>
          </div>
          <${Stats} key=${name} name=${name} query=${query} range=${range} />
          <${Card} title=${`Latest ${name} scores`}><${ScoreList} query=${{ name, ...apiRange(range), source: query.source }} showTarget=${true} /></${Card}>`}
    <${Card} title="Online evaluators"><${Evaluators} /></${Card}>
  </div>`;
}
