// Search: spans matching a query of the filter syntax (docs/search.md), newest first, each with
// where its words were found, the words marked; a hit opens its span in the trace view. A
// query that cannot be read shows the server's message with its caret under the token. The
// snippets are telemetry: every part is text (html`` never makes markup of a value).

import { html, useEffect, useState, withValue } from '../lib/html.js';
import { get } from '../lib/api.js';
import { setQuery } from '../lib/router.js';
import { searchQuery, spanHref } from '../lib/queries.js';
import * as fmt from '../lib/format.js';
import { Loading } from '../components/common.js';
import { KindBadge, StatusBadge } from '../components/badges.js';

/**
 * @import { Range } from '../lib/range.js'
 * @import { Query } from '../lib/url.js'
 * @import { ApiError } from '../lib/api.js'
 */

/** Examples under the box: [query, what it finds]. */
const EXAMPLES = [
  ['timeout', 'a word anywhere: content, tool arguments and results, names, errors, attributes'],
  ['kind:tool status:error', 'failed tool calls'],
  ['"rate limit" -agent:planner', 'a phrase, not from one agent'],
  ['kind:llm cost:>0.05 duration:>=2s', 'dear, slow model calls'],
  ['attr.customer.id:acme has:attr.retries', 'by attribute'],
];

/** @param {{ snippet: Api.Snippet }} props */
function SnippetLine({ snippet }) {
  return html`<div class="snippet">
    <span class="snippet-field mono">${snippet.field}</span>
    <span class="snippet-text">${snippet.parts.map((p) => (p.match ? html`<mark>${p.text}</mark>` : p.text))}</span>
  </div>`;
}

/** @param {{ hit: Api.SearchHit, q: string }} props */
function Hit({ hit, q }) {
  return html`<li class="hit" data-span=${hit.span_id}>
    <div class="hit-head">
      <${KindBadge} kind=${hit.kind} />
      <a class="hit-name" href=${spanHref(hit.trace_id, hit.span_id, q)}>${hit.name}</a>
      ${hit.error && html`<${StatusBadge} status="error" />`}
      <span class="muted small">${hit.service}${hit.agent ? ` · ${hit.agent}` : ''}</span>
      <span class="hit-when muted small" title=${fmt.dateTime(hit.start_time_unix_nano)}>${fmt.dateTime(hit.start_time_unix_nano).slice(5)} · ${fmt.duration(hit.duration_ns)}</span>
    </div>
    ${hit.snippets.map((s) => html`<${SnippetLine} snippet=${s} />`)}
  </li>`;
}

/** @param {{ error: ApiError | Error }} props */
function QueryError({ error }) {
  const message = error.message.replace(/^invalid parameter `q`: /, '');
  return html`<div class="error-box query-error" role="alert"><strong>The query cannot be searched</strong><pre>${message}</pre></div>`;
}

/** @param {{ query: Query, range: Range }} props */
export function Search({ query, range }) {
  const q = query.q ?? '';
  const [text, setText] = useState(q);
  const [page, setPage] = useState(/** @type {{ hits: Api.SearchHit[], next: string | null, judged: number } | null} */ (null));
  const [error, setError] = useState(/** @type {Error | null} */ (null));
  const [loading, setLoading] = useState(false);
  const params = searchQuery(query, range);
  const key = JSON.stringify(params);
  useEffect(() => setText(q), [q]);
  useEffect(() => {
    setPage(null);
    setError(null);
    if (!q) return;
    setLoading(true);
    /** @type {Promise<Api.SearchPage>} */ (get('/search', params)).then(
      (p) => {
        setPage({ hits: p.hits, next: p.next_cursor ?? null, judged: p.judged });
        setLoading(false);
      },
      (e) => {
        setError(e);
        setLoading(false);
      },
    );
  }, [key]);
  const more = () => {
    if (!page?.next) return;
    setLoading(true);
    /** @type {Promise<Api.SearchPage>} */ (get('/search', { ...params, cursor: page.next })).then(
      (p) => {
        setPage((old) => ({ hits: [...(old?.hits ?? []), ...p.hits], next: p.next_cursor ?? null, judged: (old?.judged ?? 0) + p.judged }));
        setLoading(false);
      },
      (e) => {
        setError(e);
        setLoading(false);
      },
    );
  };
  /** @param {Event} event */
  const submit = (event) => {
    event.preventDefault();
    setQuery({ q: text.trim() || null });
  };
  return html`<div class="view search-view">
    <form class="search-form" role="search" onSubmit=${submit}>
      <input type="search" name="q" value=${text} onInput=${withValue(setText)} placeholder="kind:tool timeout" aria-label="Search spans" autocomplete="off" spellcheck="false" />
      <button type="submit" class="primary">Search</button>
    </form>
    ${!q &&
    html`<ul class="search-examples muted small">
      ${EXAMPLES.map(([example, what]) => html`<li><a href=${`/search?q=${encodeURIComponent(example)}`} class="mono">${example}</a> — ${what}</li>`)}
    </ul>`}
    ${error && html`<${QueryError} error=${error} />`}
    ${q && page === null && !error && html`<${Loading} />`}
    ${page &&
    html`<p class="search-summary muted small">
        ${page.hits.length ? `${fmt.count(page.hits.length)} ${page.hits.length === 1 ? 'span' : 'spans'}, newest first` : 'No span matches yet'}
        ${page.next ? ` · ${fmt.count(page.judged)} spans read so far` : ` · every span of the range read (${fmt.count(page.judged)})`}
      </p>
      <ol class="search-hits">
        ${page.hits.map((h) => html`<${Hit} key=${h.span_id} hit=${h} q=${q} />`)}
      </ol>
      ${page.next && html`<div class="more"><button type="button" onClick=${more} disabled=${loading}>${page.hits.length ? 'Load more' : 'Search further'}</button></div>`}`}
  </div>`;
}
