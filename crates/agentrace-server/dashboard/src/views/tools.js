// Tools: per tool (a tool on an MCP server is its server's: two servers' `search` are two
// rows), calls, success rate, its health (score and recommendations), duration percentiles,
// its most frequent failures and its trend over the range; split, when asked, by an attribute
// (each tool once per customer, say).

import { html } from '../lib/html.js';
import { useApi } from '../lib/api.js';
import { bucketFor } from '../lib/range.js';
import { setQuery } from '../lib/router.js';
import { ATTRIBUTE_PREFIX, attributeKey, toolsQuery } from '../lib/queries.js';
import { callsPerBucket } from '../lib/series.js';
import * as fmt from '../lib/format.js';
import { Pending } from '../components/common.js';
import { AttributeKeyInput } from '../components/filters.js';

/**
 * @import { ApiState } from '../lib/api.js'
 * @import { Range } from '../lib/range.js'
 * @import { Query } from '../lib/url.js'
 */

/**
 * Calls per bucket as a small bar chart (failures in red), gaps included.
 * @param {{ points: Api.ToolPoint[], range: Range, bucketMs: number }} props
 */
function Trend({ points, range, bucketMs }) {
  const { calls, errors } = callsPerBucket(points, range, bucketMs);
  const max = Math.max(...calls, 1);
  const w = 100 / calls.length;
  return html`<svg class="trend" viewBox="0 0 100 30" preserveAspectRatio="none" role="img" aria-label="Calls over the range">
    ${calls.map((c, i) => c > 0 && html`<rect x=${i * w + w * 0.1} y=${30 - (c / max) * 30} width=${w * 0.8} height=${(c / max) * 30} class="ok" />`)}
    ${errors.map((e, i) => e > 0 && html`<rect x=${i * w + w * 0.1} y=${30 - (e / max) * 30} width=${w * 0.8} height=${(e / max) * 30} class="failed" />`)}
  </svg>`;
}

/**
 * The health score, coloured by grade, with what stands out.
 * @param {{ health: Api.ToolHealth }} props
 */
function Health({ health }) {
  const parts = `success ${health.success.toFixed(2)} · latency ${health.latency.toFixed(2)} · trend ${health.trend.toFixed(2)}`;
  return html`<div class="health">
    <span class=${`health-score health-${health.grade}`} title=${`${health.grade}: ${parts}`}>${health.score}</span>
    ${health.recommendations.length > 0 &&
    html`<ul class="recommendations">${health.recommendations.map((r) => html`<li>${r}</li>`)}</ul>`}
  </div>`;
}

/** @type {Record<string, number>} */
const BUCKET_MS = { '1m': 60e3, '5m': 300e3, '15m': 900e3, '1h': 3600e3, '6h': 6 * 3600e3, '1d': 86400e3 };

/** @param {{ query: Query, range: Range }} props */
export function Tools({ query, range }) {
  const bucket = bucketFor(range);
  const split = attributeKey(query.group_by);
  /** @type {ApiState<Api.ToolsAnswer>} */
  const state = useApi('/tools', toolsQuery(query, range, bucket));
  const toolbar = html`<div class="toolbar">
    <${AttributeKeyInput} label="Split by attribute" value=${split ?? ''} onApply=${(/** @type {string} */ key) => setQuery({ group_by: key ? ATTRIBUTE_PREFIX + key : null }, { push: true })} />
  </div>`;
  if (!state.data) return html`<div class="view tools">${toolbar}<${Pending} state=${state} /></div>`;
  const tools = state.data.tools;
  // The column the answer on screen has: while a new split loads, the last answer stays.
  const shown = tools.find((t) => t.attribute)?.attribute?.key ?? null;
  if (!tools.length) return html`<div class="view tools">${toolbar}<div class="empty">No tool call in this range (spans of kind <code>tool</code>: <code>execute_tool</code> spans, OpenInference TOOL spans, …).</div></div>`;
  return html`<div class="view tools">
    ${toolbar}
    <div class="table-wrap">
      <table class="table tools-table">
        <thead>
          <tr>
            <th>Tool</th><th>MCP server</th>${shown && html`<th>${shown}</th>`}<th class="num">Calls</th><th class="num">Success</th><th>Health</th><th class="num">p50</th><th class="num">p95</th><th class="num">p99</th>
            <th>Top failures</th><th>Calls over the range <span class="muted">(per ${bucket})</span></th>
          </tr>
        </thead>
        <tbody>
          ${tools.map(
            (t) => html`<tr class=${t.success_rate < 0.9 ? 'has-error' : ''}>
              <td><a href=${`/traces?kind=tool&name=${encodeURIComponent(t.tool ?? '')}`}>${t.tool ?? '(unnamed)'}</a></td>
              <td class="mcp-server">${t.mcp_server ? html`<span class="badge kind-mcp">${t.mcp_server}</span>` : html`<span class="muted">local</span>`}</td>
              ${shown && html`<td class="split-value">${t.attribute?.value ?? html`<span class="muted">(none)</span>`}</td>`}
              <td class="num">${fmt.count(t.calls)}</td>
              <td class="num"><span class=${t.success_rate < 0.9 ? 'error-text' : t.success_rate < 0.99 ? 'warn-text' : 'ok-text'}>${fmt.percent(t.success_rate)}</span></td>
              <td class="health-cell"><${Health} health=${t.health} /></td>
              <td class="num">${fmt.duration(t.duration.p50_ns)}</td>
              <td class="num">${fmt.duration(t.duration.p95_ns)}</td>
              <td class="num">${fmt.duration(t.duration.p99_ns)}</td>
              <td class="errors-cell">
                ${t.top_errors.length
                  ? t.top_errors.map((e) => html`<div><span class="badge status-error">${fmt.count(e.count)}</span> ${e.error_type && html`<strong>${e.error_type}</strong>`} <span class="mono small">${e.pattern}</span></div>`)
                  : html`<span class="muted">none</span>`}
              </td>
              <td class="trend-cell"><${Trend} points=${t.trend ?? []} range=${range} bucketMs=${BUCKET_MS[bucket]} /></td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
  </div>`;
}
