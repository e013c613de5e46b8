// Cost: billable calls grouped by one or two dimensions, as a chart and a table, with a CSV
// download; and every budget with its spend in the current period.

import { html, useMemo, useState, withValue } from '../lib/html.js';
import { apiUrl, useApi } from '../lib/api.js';
import { setQuery } from '../lib/router.js';
import { ATTRIBUTE_PREFIX, COST_DIMENSIONS as DIMENSIONS, COST_FILTERS as FILTERS, COST_TIME as TIME, attributeKey, costGroups, costQuery } from '../lib/queries.js';
import { costLabel as label, costOverTime } from '../lib/series.js';
import * as fmt from '../lib/format.js';
import { Card, Pending } from '../components/common.js';
import { BarList } from '../components/bar-list.js';
import { TimeChart } from '../components/chart.js';
import { AttributeKeyInput, FilterBar, TextFilter } from '../components/filters.js';
import { Table } from '../components/table.js';

/**
 * @import { ApiState } from '../lib/api.js'
 * @import { Range } from '../lib/range.js'
 * @import { Query } from '../lib/url.js'
 * @import { Column } from '../components/table.js'
 */

const PALETTE = ['#818cf8', '#22d3ee', '#c084fc', '#34d399', '#fbbf24', '#f472b6', '#60a5fa', '#fb923c', '#a3e635', '#94a3b8'];

/**
 * Stacked cost over time by the other dimension: its 9 costliest values, the rest as "other".
 * @param {{ rows: Api.CostRow[], time: string, by: string }} props
 */
function CostOverTime({ rows, time, by }) {
  const chart = useMemo(() => costOverTime(rows, time, by, PALETTE), [rows, time, by]);
  return html`<${TimeChart} times=${chart.times} series=${chart.series} format=${fmt.usd} height=${240} />`;
}

function Budgets() {
  /** @type {ApiState<Api.Budgets>} */
  const state = useApi('/budgets', {});
  if (!state.data) return html`<${Pending} state=${state} />`;
  if (!state.data.configured) return html`<div class="empty small">No budgets configured. Start the server with <code>--budgets budgets.toml</code> (see docs/budgets.md).</div>`;
  const rows = [...state.data.budgets].sort((a, b) => b.ratio - a.ratio);
  return html`<ul class="budgets">
    ${rows.map(
      (b) => html`<li class=${b.ratio >= 1 ? 'over' : b.ratio >= 0.8 ? 'near' : ''}>
        <div class="budget-name"><strong>${b.budget}</strong> <span class="muted">${b.scope === '*' ? 'all' : b.scope}</span></div>
        <div class="meter" role="meter" aria-valuemin="0" aria-valuemax="1" aria-valuenow=${b.ratio}><div style=${{ width: `${Math.min(100, b.ratio * 100)}%` }}></div></div>
        <div class="budget-figures">${fmt.usd(b.spent)}${b.reserved ? ` + ${fmt.usd(b.reserved)} reserved` : ''} of ${fmt.usd(b.limit)} · <strong>${fmt.percent(b.ratio)}</strong> <span class="muted">since ${fmt.dateTime(b.period_start_unix_nano)}</span></div>
      </li>`,
    )}
  </ul>`;
}

/** @param {{ query: Query, range: Range }} props */
export function Cost({ query, range }) {
  const dims = costGroups(query);
  const q = costQuery(query, range, dims);
  /** @type {ApiState<Api.CostAnswer>} */
  const state = useApi('/cost', q);
  /**
   * @param {string} first
   * @param {string | null} second
   */
  const setDims = (first, second) => setQuery({ group_by: [first, second].filter(Boolean).join(',') }, { push: true });
  // Grouped by an attribute: its key typed beside the choice ("Attribute…" picked, no key yet:
  // the field waits for one).
  const firstKey = attributeKey(dims[0]);
  const [picking, setPicking] = useState(false);
  const byAttribute = picking || firstKey !== null;
  /** @param {string} v */
  const pick = (v) => {
    setPicking(v === 'attr');
    if (v !== 'attr') setDims(v, dims[1] === v ? null : dims[1]);
  };
  const time = dims.find((d) => TIME.has(d));
  const other = dims.find((d) => d !== time);
  /** @type {Column<Api.CostRow>[]} */
  const columns = [
    ...dims.map((d) => ({ key: d, label: DIMENSIONS.find(([k]) => k === d)?.[1] ?? d, render: (/** @type {Api.CostRow} */ r) => label(r.keys[d]) })),
    { key: 'calls', label: 'Calls', align: 'num', render: (r) => fmt.count(r.calls) },
    { key: 'errors', label: 'Failed', align: 'num', render: (r) => (r.errors ? html`<span class="error-text">${fmt.count(r.errors)}</span>` : '0') },
    { key: 'p95', label: 'p95', align: 'num', render: (r) => fmt.duration(r.latency.p95_ns) },
    { key: 'in', label: 'Input', align: 'num', render: (r) => fmt.compact(r.usage.input_tokens) },
    { key: 'out', label: 'Output', align: 'num', render: (r) => fmt.compact(r.usage.output_tokens) },
    { key: 'cache', label: 'Cache read', align: 'num', render: (r) => fmt.compact(r.usage.cache_read_tokens) },
    { key: 'cost', label: 'Cost', align: 'num', render: (r) => fmt.usd(r.cost) },
    { key: 'unpriced', label: 'Unpriced', align: 'num', render: (r) => (r.unpriced ? html`<span class="warn-text" title=${`${fmt.compact(fmt.totalTokens(r.unpriced_usage))} tokens without a price`}>${fmt.count(r.unpriced)}</span>` : '0') },
  ];
  const a = state.data;
  const byCost = a ? [...a.rows].sort((x, y) => (y.cost ?? -1) - (x.cost ?? -1)) : [];
  return html`<div class="view cost">
    <div class="toolbar">
      <label class="filter"><span>Group by</span>
        <select value=${byAttribute ? 'attr' : dims[0]} onChange=${withValue(pick)}>
          ${DIMENSIONS.map(([k, l]) => html`<option value=${k}>${l}</option>`)}
          <option value="attr">Attribute…</option>
        </select>
      </label>
      ${byAttribute &&
      html`<${AttributeKeyInput} label="Attribute key" value=${firstKey ?? ''} onApply=${(/** @type {string} */ key) => {
        setPicking(false);
        setDims(key ? ATTRIBUTE_PREFIX + key : 'model', dims[1] ?? null);
      }} />`}
      <label class="filter"><span>then by</span>
        <select value=${dims[1] ?? ''} onChange=${withValue((v) => setDims(dims[0], v || null))}>
          <option value="">—</option>
          ${DIMENSIONS.filter(([k]) => k !== dims[0]).map(([k, l]) => html`<option value=${k}>${l}</option>`)}
        </select>
      </label>
      <a class="button" href=${apiUrl('/cost', { ...q, format: 'csv' })} download="agentrace-cost.csv">Download CSV</a>
      ${a && html`<span class="muted small" title="rollups: milliseconds at any size; spans: exact, reads every call of the range">source: ${a.source}</span>`}
    </div>
    <${FilterBar} query=${query} names=${FILTERS}>
      ${FILTERS.map((f) => html`<${TextFilter} name=${f} label=${f[0].toUpperCase() + f.slice(1)} query=${query} />`)}
    </${FilterBar}>
    ${!a
      ? html`<${Pending} state=${state} />`
      : html`<div class="grid cost-grid">
          <${Card} title=${`Cost by ${dims.join(' and ')}`}>
            ${time && other
              ? html`<${CostOverTime} rows=${a.rows} time=${time} by=${other} />`
              : time
                ? html`<${TimeChart} times=${a.rows.map((r) => Date.parse(r.keys[time] ?? '') / 1000)} series=${[{ label: 'cost', color: PALETTE[0], values: a.rows.map((r) => r.cost ?? 0), kind: 'bar' }]} format=${fmt.usd} height=${240} />`
                : html`<${BarList} rows=${byCost.slice(0, 12).map((r) => ({ label: dims.map((d) => label(r.keys[d])).join(' · '), cost: r.cost, unpriced: r.unpriced, calls: r.calls }))} />`}
            <p class="muted small total-line">Total: <strong>${fmt.usdWithUnpriced(a.total.cost, a.total.unpriced)}</strong> over ${fmt.count(a.total.calls)} calls · ${fmt.compact(fmt.totalTokens(a.total.usage))} tokens</p>
          </${Card}>
          <${Card} title="Budgets"><${Budgets} /></${Card}>
        </div>
        <${Table} columns=${columns} rows=${time ? a.rows : byCost} rowKey=${(/** @type {Api.CostRow} */ r) => JSON.stringify(r.keys)} empty="No billable call in this range." />`}
  </div>`;
}
