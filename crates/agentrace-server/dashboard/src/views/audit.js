// The audit log: who changed what, when, from where — newest first, a page at a time, by
// project and action; the whole range downloadable as JSON lines. The organization's admins'.

import { html, useState } from '../lib/html.js';
import { apiUrl, useApi } from '../lib/api.js';
import { apiRange } from '../lib/range.js';
import { Card, Empty, Pending } from '../components/common.js';
import { FilterBar, TextFilter } from '../components/filters.js';

/**
 * @import { ApiState } from '../lib/api.js'
 * @import { Range } from '../lib/range.js'
 * @import { Query } from '../lib/url.js'
 */

/**
 * The API query of the audit view: its range, the action filter, the page's cursor.
 * @param {Query} query
 * @param {Range} range
 * @param {string | null} before
 */
export function auditQuery(query, range, before) {
  /** @type {Record<string, string>} */
  const q = { ...apiRange(range), limit: '100' };
  if (query.action) q.action = query.action;
  if (before) q.before = before;
  return q;
}

/** @param {{ query: Query, range: Range }} props */
export function Audit({ query, range }) {
  const [before, setBefore] = useState(/** @type {string | null} */ (null));
  const q = auditQuery(query, range, before);
  /** @type {ApiState<Api.AuditPage>} */
  const state = useApi('/audit', q);
  const { before: _, limit: __, ...exported } = q;
  return html`<div class="view audit-view">
    <div class="toolbar">
      <${FilterBar} query=${query} names=${['action']}>
        <${TextFilter} name="action" label="Action starts with" query=${query} placeholder="login, PUT /settings…" />
      </${FilterBar}>
      <a class="button" href=${apiUrl('/audit', { ...exported, format: 'jsonl' })} download="agentrace-audit.jsonl">Download JSON lines</a>
    </div>
    ${!state.data
      ? html`<${Pending} state=${state} />`
      : html`<${Card} title="Entries, newest first">
          ${state.data.entries.length
            ? html`<table class="table compact audit-table">
                <thead><tr><th>When</th><th>Who</th><th>Action</th><th>On</th><th>Project</th><th class="num">Status</th><th>From</th></tr></thead>
                <tbody>${state.data.entries.map(
                  (e) => html`<tr key=${e.id} class=${e.status >= 400 ? 'has-error' : ''} title=${e.before || e.after ? `before: ${e.before ?? '—'}\nafter: ${e.after ?? '—'}` : ''}>
                    <td class="mono small">${e.at.slice(0, 19).replace('T', ' ')}</td>
                    <td>${e.actor.name || e.actor.kind} <span class="muted small">${e.actor.kind}</span></td>
                    <td class="mono small">${e.action}</td>
                    <td class="mono small">${e.target}</td>
                    <td>${e.project ?? html`<span class="muted">organization</span>`}</td>
                    <td class="num">${e.status}</td>
                    <td class="mono small">${e.address ?? ''}</td>
                  </tr>`,
                )}</tbody>
              </table>
              <div class="pager">
                ${before && html`<button type="button" class="button" onClick=${() => setBefore(null)}>Newest</button>`}
                ${state.data.next && html`<button type="button" class="button" onClick=${() => setBefore(state.data?.next ?? null)}>Older</button>`}
              </div>`
            : html`<${Empty}>Nothing recorded in this range.</${Empty}>`}
        </${Card}>`}
  </div>`;
}
