// Sessions: every session with traces in the range, most recently active or costliest first.

import { html } from '../lib/html.js';
import { useApi } from '../lib/api.js';
import { apiRange } from '../lib/range.js';
import { setQuery } from '../lib/router.js';
import * as fmt from '../lib/format.js';
import { Pending } from '../components/common.js';
import { Table } from '../components/table.js';

/**
 * @import { ApiState } from '../lib/api.js'
 * @import { Range } from '../lib/range.js'
 * @import { Query } from '../lib/url.js'
 * @import { Column } from '../components/table.js'
 */

/** @type {Column<Api.SessionSummary>[]} */
const COLUMNS = [
  { key: 'session', label: 'Session', render: (s) => html`<span class="mono">${s.session_id}</span>` },
  { key: 'user', label: 'User', render: (s) => s.user_id ?? html`<span class="muted">—</span>` },
  { key: 'traces', label: 'Traces', align: 'num', render: (s) => fmt.count(s.traces) },
  { key: 'spans', label: 'Spans', align: 'num', render: (s) => fmt.count(s.spans) },
  { key: 'errors', label: 'Errors', align: 'num', render: (s) => (s.errors ? html`<span class="error-text">${fmt.count(s.errors)}</span>` : html`<span class="muted">0</span>`) },
  { key: 'tokens', label: 'Tokens', align: 'num', render: (s) => fmt.compact(fmt.totalTokens(s.usage)) },
  { key: 'cost', label: 'Cost', align: 'num', sortKey: 'cost', render: (s) => fmt.usdWithUnpriced(s.cost, s.unpriced) },
  { key: 'first', label: 'First seen', render: (s) => fmt.dateTime(s.first_seen_unix_nano) },
  { key: 'last', label: 'Last active', sortKey: 'recent', render: (s) => html`<span title=${fmt.dateTime(s.last_seen_unix_nano)}>${fmt.ago(s.last_seen_unix_nano)}</span>` },
];

/** @param {{ query: Query, range: Range }} props */
export function Sessions({ query, range }) {
  const sort = query.sort === 'cost' ? 'cost' : 'recent';
  /** @type {ApiState<Api.Sessions>} */
  const state = useApi('/sessions', { ...apiRange(range), sort, limit: 200 });
  if (!state.data) return html`<${Pending} state=${state} />`;
  return html`<div class="view sessions">
    <p class="muted small">Sessions with traces starting in the range; their numbers sum those traces (a trace belongs to its root span's session).</p>
    <${Table}
      columns=${COLUMNS}
      rows=${state.data.sessions}
      rowKey=${(/** @type {Api.SessionSummary} */ s) => s.session_id}
      href=${(/** @type {Api.SessionSummary} */ s) => `/sessions/${encodeURIComponent(s.session_id)}`}
      sort=${{ key: sort, ascending: false }}
      onSort=${(/** @type {string} */ k) => setQuery({ sort: k === 'cost' ? 'cost' : null }, { push: true })}
      empty="No session in this range: spans name their session with gen_ai.conversation.id, session.id or their dialect's equivalent."
    />
  </div>`;
}
