// Traces: the trace list with the API's filters, sortable, paged by cursor. While the range
// follows "now" and the list is newest first, new traces appear at the top as they arrive.
// Filtered by a score, the list shows each trace's mean of it and can be ordered by it.

import { html, useEffect, useRef, useState } from '../lib/html.js';
import { get, useApi } from '../lib/api.js';
import { apiRange } from '../lib/range.js';
import { changesSpans, useLiveRefresh } from '../lib/live.js';
import { setQuery } from '../lib/router.js';
import { TRACE_FILTERS, tracesQuery, tracesSort, tracesSortQuery } from '../lib/queries.js';
import * as fmt from '../lib/format.js';
import { ErrorBox, Loading } from '../components/common.js';
import { FilterBar, SelectFilter, TextFilter } from '../components/filters.js';
import { Table } from '../components/table.js';
import { StatusBadge } from '../components/badges.js';

/**
 * @import { ApiState } from '../lib/api.js'
 * @import { Range } from '../lib/range.js'
 * @import { Query } from '../lib/url.js'
 * @import { Column } from '../components/table.js'
 */

/** @type {Api.SpanKind[]} */
const KINDS = ['agent', 'llm', 'tool', 'chain', 'retriever', 'embedding', 'workflow', 'task', 'guardrail', 'mcp', 'other'];

/** @type {Column<Api.TraceSummary>[]} */
const COLUMNS = [
  {
    key: 'start',
    label: 'Started',
    sortKey: 'start',
    render: (t) => html`<span title=${fmt.dateTime(t.start_unix_nano)}>${fmt.dateTime(t.start_unix_nano).slice(5)}</span>`,
  },
  {
    key: 'name',
    label: 'Trace',
    render: (t) => html`<span class="trace-name">${t.root_name}</span>${!t.has_root && html` <span class="badge warn" title="The root span has not arrived">no root</span>`}<span class="sub">${t.service_name}</span>`,
  },
  { key: 'agent', label: 'Agent', render: (t) => t.agent_name ?? html`<span class="muted">—</span>` },
  { key: 'session', label: 'Session', render: (t) => (t.session_id ? html`<a href=${`/sessions/${encodeURIComponent(t.session_id)}`}>${t.session_id}</a>` : html`<span class="muted">—</span>`) },
  { key: 'user', label: 'User', render: (t) => t.user_id ?? html`<span class="muted">—</span>` },
  { key: 'duration', label: 'Duration', align: 'num', sortKey: 'duration', render: (t) => fmt.duration(t.duration_ns) },
  { key: 'spans', label: 'Spans', align: 'num', sortKey: 'spans', render: (t) => fmt.count(t.span_count) },
  {
    key: 'errors',
    label: 'Errors',
    align: 'num',
    sortKey: 'errors',
    render: (t) => (t.error_count ? html`<${StatusBadge} status="error" /> ${fmt.count(t.error_count)}` : html`<span class="muted">0</span>`),
  },
  { key: 'tokens', label: 'Tokens', align: 'num', sortKey: 'tokens', render: (t) => fmt.compact(fmt.totalTokens(t.usage)) },
  { key: 'cost', label: 'Cost', align: 'num', sortKey: 'cost', render: (t) => fmt.usdWithUnpriced(t.cost, t.unpriced_count) },
];

/**
 * The column of the score the list is filtered by: each trace's mean of it.
 * @param {string} name
 * @returns {Column<Api.TraceSummary>}
 */
const scoreColumn = (name) => ({
  key: 'score',
  label: name,
  align: 'num',
  sortKey: 'score',
  render: (t) => (t.score_mean == null ? html`<span class="muted" title="Labels only">—</span>` : fmt.scoreNumber(t.score_mean)),
});

/**
 * The score filter: a name given in the range, and bounds once one is chosen.
 * @param {{ query: Query, range: Range }} props
 */
function ScoreFilters({ query, range }) {
  /** @type {ApiState<Api.Responses['/scores/names']>} */
  const names = useApi('/scores/names', apiRange(range));
  const list = names.data?.names ?? [];
  if (list.length === 0 && !query.score) return null;
  /** @type {[string, string][]} */
  const options = [['', 'any'], ...list.map((n) => /** @type {[string, string]} */ ([n.name, n.name]))];
  if (query.score && !list.some((n) => n.name === query.score)) options.push([query.score, query.score]);
  return html`<${SelectFilter} name="score" label="Has a score" query=${query} options=${options} />
    ${query.score && html`<${TextFilter} name="score_min" label="Score from" query=${query} placeholder="min" width="5.5rem" />
      <${TextFilter} name="score_max" label="to" query=${query} placeholder="max" width="5.5rem" />`}`;
}

/** @param {{ query: Query, range: Range }} props */
export function Traces({ query, range }) {
  const [rows, setRows] = useState(/** @type {Api.TraceSummary[] | null} */ (null));
  const [next, setNext] = useState(/** @type {string | null} */ (null));
  const [error, setError] = useState(/** @type {Error | null} */ (null));
  const [loadingMore, setLoadingMore] = useState(false);
  const fresh = useRef(/** @type {Set<string>} */ (new Set()));
  const q = tracesQuery(query, range);
  const key = JSON.stringify(q);

  const current = useRef(/** @type {Api.TraceSummary[] | null} */ (null));
  current.current = rows;
  /** @param {boolean} merge keep the rows shown, new ones on top */
  const loadFirst = (merge) =>
    /** @type {Promise<Api.TracePage>} */ (get('/traces', q)).then(
      (page) => {
        setError(null);
        const old = current.current;
        if (!merge || !old) {
          setRows(page.traces);
          setNext(page.next_cursor);
          return;
        }
        // New traces go on top, the rows already shown are updated in place, the pages
        // loaded below stay.
        const known = new Set(old.map((t) => t.trace_id));
        const added = page.traces.filter((t) => !known.has(t.trace_id));
        const updated = new Map(page.traces.map((t) => [t.trace_id, t]));
        fresh.current = new Set(added.map((t) => t.trace_id));
        setRows([...added, ...old.map((t) => updated.get(t.trace_id) ?? t)]);
      },
      (e) => setError(e),
    );

  useEffect(() => {
    setRows(null);
    fresh.current = new Set();
    loadFirst(false);
  }, [key]);

  const newestFirst = !q.sort || q.sort === 'start';
  useLiveRefresh({}, () => loadFirst(true), {
    enabled: range.follows && newestFirst && query.order !== 'asc',
    everyMs: 1000,
    when: changesSpans,
  });

  const more = () => {
    setLoadingMore(true);
    /** @type {Promise<Api.TracePage>} */ (get('/traces', { ...q, cursor: next }))
      .then((page) => {
        // With `q`, a trace whose matches straddle the page's end comes on both pages.
        setRows((old) => {
          const shown = new Set((old ?? []).map((t) => t.trace_id));
          return [...(old ?? []), ...page.traces.filter((t) => !shown.has(t.trace_id))];
        });
        setNext(page.next_cursor);
      }, setError)
      .finally(() => setLoadingMore(false));
  };

  const sort = tracesSort(query, q);
  const columns = query.score ? [...COLUMNS, scoreColumn(query.score)] : COLUMNS;
  /** @param {string} k */
  const onSort = (k) => setQuery(tracesSortQuery(sort, k), { push: true });

  return html`<div class="view traces">
    <${FilterBar} query=${query} names=${TRACE_FILTERS}>
      <${TextFilter} name="q" label="Holding a span matching" query=${query} placeholder="kind:tool timeout" width="16rem" />
      <${TextFilter} name="name" label="Name contains" query=${query} placeholder="span name" />
      <${TextFilter} name="service" label="Service" query=${query} />
      <${SelectFilter} name="kind" label="Has a span of kind" query=${query} options=${[['', 'any'], ...KINDS.map((k) => [k, k])]} />
      <${TextFilter} name="model" label="Model" query=${query} />
      <${TextFilter} name="agent" label="Agent" query=${query} />
      <${TextFilter} name="session" label="Session" query=${query} />
      <${TextFilter} name="user" label="User" query=${query} />
      <${SelectFilter} name="status" label="Status" query=${query} options=${[['', 'any'], ['error', 'failed'], ['ok', 'ok']]} />
      <${TextFilter} name="min_duration" label="Min duration" query=${query} placeholder="e.g. 2s" width="7.5rem" />
      <${ScoreFilters} query=${query} range=${range} />
    </${FilterBar}>
    <${ErrorBox} error=${error} />
    ${rows === null
      ? !error && html`<${Loading} />`
      : html`<${Table}
          columns=${columns}
          rows=${rows}
          rowKey=${(/** @type {Api.TraceSummary} */ t) => t.trace_id}
          href=${(/** @type {Api.TraceSummary} */ t) => `/traces/${t.trace_id}`}
          sort=${query.q ? undefined : sort}
          onSort=${query.q ? undefined : onSort}
          rowClass=${(/** @type {Api.TraceSummary} */ t) => [fresh.current.has(t.trace_id) ? 'fresh' : '', t.error_count ? 'has-error' : ''].join(' ')}
          empty="No trace matches these filters in this range."
        />`}
    ${next && html`<div class="more"><button type="button" onClick=${more} disabled=${loadingMore}>${loadingMore ? 'Loading…' : 'Load more'}</button></div>`}
  </div>`;
}
