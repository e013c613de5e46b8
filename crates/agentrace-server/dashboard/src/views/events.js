// Events: the structured log, newest first, searchable by level, type, session and text; each
// event links to its trace and span.

import { html, useEffect, useState } from '../lib/html.js';
import { get } from '../lib/api.js';
import { EVENT_FILTERS, eventsQuery } from '../lib/queries.js';
import * as fmt from '../lib/format.js';
import { ErrorBox, Loading } from '../components/common.js';
import { FilterBar, SelectFilter, TextFilter } from '../components/filters.js';
import { Table } from '../components/table.js';
import { LevelBadge } from '../components/badges.js';

/**
 * @import { Range } from '../lib/range.js'
 * @import { Query } from '../lib/url.js'
 * @import { Column } from '../components/table.js'
 */

/** @type {Api.Event['level'][]} */
const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'SUCCESS', 'WARNING', 'ERROR', 'CRITICAL'];

/** @type {Column<Api.Event>[]} */
const COLUMNS = [
  { key: 'time', label: 'Time', render: (e) => html`<span title=${fmt.dateTime(e.time_unix_nano)}>${fmt.timeOfDay(e.time_unix_nano)}</span>` },
  { key: 'level', label: 'Level', render: (e) => html`<${LevelBadge} level=${e.level} />` },
  { key: 'type', label: 'Type', render: (e) => html`<span class="mono">${e.kind}</span>` },
  { key: 'message', label: 'Message', render: (e) => html`<span class="event-message">${e.message}</span>` },
  { key: 'service', label: 'Service', render: (e) => e.resource?.service_name },
  { key: 'session', label: 'Session', render: (e) => (e.session_id ? html`<a href=${`/sessions/${encodeURIComponent(e.session_id)}`}>${e.session_id}</a>` : '') },
  {
    key: 'trace',
    label: 'Trace',
    render: (e) =>
      e.trace_id
        ? html`<a href=${`/traces/${e.trace_id}${e.span_id ? `?span=${e.span_id}` : ''}`} title=${e.span_id ? `span ${e.span_id}` : ''}>${e.trace_id.slice(0, 8)}…${e.span_id ? ' · span' : ''}</a>`
        : '',
  },
];

/** @param {{ query: Query, range: Range }} props */
export function Events({ query, range }) {
  const [rows, setRows] = useState(/** @type {Api.Event[] | null} */ (null));
  const [next, setNext] = useState(/** @type {string | null} */ (null));
  const [error, setError] = useState(/** @type {Error | null} */ (null));
  const q = eventsQuery(query, range);
  const key = JSON.stringify(q);
  useEffect(() => {
    setRows(null);
    /** @type {Promise<Api.EventPage>} */ (get('/events', q)).then((page) => {
      setError(null);
      setRows(page.events);
      setNext(page.next_cursor);
    }, setError);
  }, [key]);
  const more = () =>
    /** @type {Promise<Api.EventPage>} */ (get('/events', { ...q, cursor: next })).then((page) => {
      setRows((old) => [...(old ?? []), ...page.events]);
      setNext(page.next_cursor);
    }, setError);
  return html`<div class="view events">
    <${FilterBar} query=${query} names=${EVENT_FILTERS}>
      <${TextFilter} name="text" label="Message contains" query=${query} placeholder="text" />
      <${SelectFilter} name="level" label="Level at least" query=${query} options=${[['', 'any'], ...LEVELS.map((l) => [l, l])]} />
      <${TextFilter} name="type" label="Type" query=${query} placeholder="e.g. tool.call" />
      <${TextFilter} name="session" label="Session" query=${query} />
      <${TextFilter} name="service" label="Service" query=${query} />
      <${TextFilter} name="agent" label="Agent id" query=${query} />
    </${FilterBar}>
    <${ErrorBox} error=${error} />
    ${rows === null
      ? !error && html`<${Loading} />`
      : html`<${Table} columns=${COLUMNS} rows=${rows} rowKey=${(/** @type {Api.Event} */ e) => `${e.time_unix_nano}-${e.kind}-${e.message}`} rowClass=${(/** @type {Api.Event} */ e) => `level-row-${e.level.toLowerCase()}`} empty="No event matches in this range." />`}
    ${next && html`<div class="more"><button type="button" onClick=${more}>Load more</button></div>`}
  </div>`;
}
