// Tables: columns described once, sortable headers (by the server or in place), clickable
// rows that are real links.

import { html } from '../lib/html.js';
import { navigate } from '../lib/router.js';

/** @import { ComponentChildren } from 'preact' */

/**
 * A column of a table: how a row shows in it; `sortKey` makes its header sort the table.
 * @template R
 * @typedef {{ key: string, label: string, align?: string, render: (row: R) => ComponentChildren, sortKey?: string }} Column
 */

/**
 * `columns`: `[{ key, label, align, render(row), sortKey }]`; `sort`: `{ key, ascending }`
 * with `onSort(key)` making headers with a `sortKey` clickable; `href(row)` makes a row open
 * a view (middle-click and ctrl-click open it in a new tab: its first cell is a link).
 * @template R
 * @param {{
 *   columns: Column<R>[],
 *   rows: R[],
 *   rowKey: (row: R) => string,
 *   href?: (row: R) => string,
 *   sort?: { key: string, ascending: boolean },
 *   onSort?: (key: string) => void,
 *   rowClass?: (row: R) => string,
 *   empty?: string,
 * }} props
 */
export function Table({ columns, rows, rowKey, href, sort, onSort, rowClass, empty = 'Nothing to show.' }) {
  if (!rows.length) return html`<div class="empty">${empty}</div>`;
  /** @param {Column<R>} c */
  const header = (c) => {
    const sortKey = c.sortKey;
    if (!sortKey || !onSort) return html`<th class=${c.align ?? ''} scope="col">${c.label}</th>`;
    const active = sort?.key === sortKey;
    const arrow = active ? (sort.ascending ? '▲' : '▼') : '';
    return html`<th class=${`${c.align ?? ''} sortable ${active ? 'sorted' : ''}`} scope="col" aria-sort=${active ? (sort.ascending ? 'ascending' : 'descending') : 'none'}>
      <button type="button" onClick=${() => onSort(sortKey)}>${c.label} <span class="arrow">${arrow}</span></button>
    </th>`;
  };
  /**
   * @param {MouseEvent} event
   * @param {R} row
   */
  const open = (event, row) => {
    if (!href || /** @type {Element} */ (event.target).closest('a, button')) return;
    navigate(href(row));
  };
  return html`<div class="table-wrap">
    <table class=${href ? 'table clickable' : 'table'}>
      <thead><tr>${columns.map(header)}</tr></thead>
      <tbody>
        ${rows.map(
          (row) => html`<tr key=${rowKey(row)} data-key=${rowKey(row)} class=${rowClass?.(row) ?? ''} onClick=${/** @param {MouseEvent} e */ (e) => open(e, row)}>
            ${columns.map(
              (c, i) => html`<td class=${c.align ?? ''}>${i === 0 && href ? html`<a href=${href(row)}>${c.render(row)}</a>` : c.render(row)}</td>`,
            )}
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
