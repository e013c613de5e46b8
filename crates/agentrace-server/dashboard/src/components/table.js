// Tables: columns described once, sortable headers (by the server or in place), clickable
// rows that are real links.

import { html } from '../lib/html.js';
import { navigate } from '../lib/router.js';

/**
 * `columns`: `[{ key, label, align, render(row), sortKey }]`; `sort`: `{ key, ascending }`
 * with `onSort(key)` making headers with a `sortKey` clickable; `href(row)` makes a row open
 * a view (middle-click and ctrl-click open it in a new tab: its first cell is a link).
 */
export function Table({ columns, rows, rowKey, href, sort, onSort, rowClass, empty = 'Nothing to show.' }) {
  if (!rows.length) return html`<div class="empty">${empty}</div>`;
  const header = (c) => {
    if (!c.sortKey || !onSort) return html`<th class=${c.align ?? ''} scope="col">${c.label}</th>`;
    const active = sort?.key === c.sortKey;
    const arrow = active ? (sort.ascending ? '▲' : '▼') : '';
    return html`<th class=${`${c.align ?? ''} sortable ${active ? 'sorted' : ''}`} scope="col" aria-sort=${active ? (sort.ascending ? 'ascending' : 'descending') : 'none'}>
      <button type="button" onClick=${() => onSort(c.sortKey)}>${c.label} <span class="arrow">${arrow}</span></button>
    </th>`;
  };
  const open = (event, row) => {
    if (!href || event.target.closest('a, button')) return;
    navigate(href(row));
  };
  return html`<div class="table-wrap">
    <table class=${href ? 'table clickable' : 'table'}>
      <thead><tr>${columns.map(header)}</tr></thead>
      <tbody>
        ${rows.map(
          (row) => html`<tr key=${rowKey(row)} data-key=${rowKey(row)} class=${rowClass?.(row) ?? ''} onClick=${(e) => open(e, row)}>
            ${columns.map(
              (c, i) => html`<td class=${c.align ?? ''}>${i === 0 && href ? html`<a href=${href(row)}>${c.render(row)}</a>` : c.render(row)}</td>`,
            )}
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
