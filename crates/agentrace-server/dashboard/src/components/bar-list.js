// Ranked lists with proportional bars: the top models, agents, users or sessions by cost; the
// most frequent violations, blocks or masked data by count.

import { html } from '../lib/html.js';
import * as fmt from '../lib/format.js';

/**
 * A row of a `BarList`: what it names, its cost (null: nothing priced), the calls without a
 * price, and how many calls (or `unit`s) it counts.
 * @typedef {{ label: string, href?: string, cost: number | null, unpriced: number, calls: number, unit?: string }} CostRow
 */

/**
 * `rows`: `{ label, href?, cost, unpriced, calls }`. Bars are proportional to cost; rows
 * without any priced call show "unpriced", never $0.
 * @param {{ rows: CostRow[], empty?: string }} props
 */
export function BarList({ rows, empty = 'Nothing in this range.' }) {
  if (!rows.length) return html`<div class="empty small">${empty}</div>`;
  const max = Math.max(...rows.map((r) => r.cost ?? 0), 1e-12);
  return html`<ol class="ranked">
    ${rows.map(
      (r) => html`<li>
        <div class="ranked-fill" style=${{ width: `${Math.max(2, ((r.cost ?? 0) / max) * 100)}%` }}></div>
        <span class="ranked-label">${r.href ? html`<a href=${r.href}>${r.label}</a>` : r.label}</span>
        <span class="ranked-value">${fmt.usdWithUnpriced(r.cost, r.unpriced)}</span>
        <span class="ranked-meta">${fmt.count(r.calls)} ${r.unit ?? 'calls'}</span>
      </li>`,
    )}
  </ol>`;
}

/**
 * `rows`: `{ label, count }`, bars proportional to the count.
 * @param {{ rows: { label: string, count: number }[], unit?: string, empty?: string }} props
 */
export function CountList({ rows, unit = '', empty = 'Nothing in this range.' }) {
  if (!rows.length) return html`<div class="empty small">${empty}</div>`;
  const max = Math.max(...rows.map((r) => r.count), 1);
  return html`<ol class="ranked">
    ${rows.map(
      (r) => html`<li>
        <div class="ranked-fill" style=${{ width: `${Math.max(2, (r.count / max) * 100)}%` }}></div>
        <span class="ranked-label">${r.label}</span>
        <span class="ranked-value">${fmt.count(r.count)}${unit && ` ${unit}`}</span>
      </li>`,
    )}
  </ol>`;
}
