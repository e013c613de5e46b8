// Trace: its summary, then the span tree with its waterfall (and the selected span in full),
// or its agent graph. The selected span, the tab and the graph mode are in the URL.

import { html, useEffect, useMemo, useState } from '../../lib/html.js';
import { apiUrl, useApi } from '../../lib/api.js';
import { navigate, setQuery, withQuery } from '../../lib/router.js';
import * as fmt from '../../lib/format.js';
import { Copy, Pending, Stat, Tabs } from '../../components/common.js';
import { Timeline } from './timeline.js';
import { SpanDetail } from './detail.js';
import { AgentGraph } from './graph.js';
import { allParents, ancestors, initialExpanded } from './tree.js';
import { ScoresSection } from '../../components/scores.js';

/**
 * @import { ApiState } from '../../lib/api.js'
 * @import { Query } from '../../lib/url.js'
 */

/** @param {{ tree: Api.TraceTree }} props */
function Header({ tree }) {
  const s = tree.summary;
  const orphans = tree.nodes.filter((n) => n.orphan).length;
  return html`<div class="trace-head">
    <div class="trace-title">
      <h2>${s.root_name}</h2>
      <div class="muted small">
        ${s.service_name} · <${Copy} text=${s.trace_id} label=${`trace ${s.trace_id.slice(0, 12)}…`} /> · ${fmt.dateTime(s.start_unix_nano)}
        ${s.session_id && html` · session <a href=${`/sessions/${encodeURIComponent(s.session_id)}`}>${s.session_id}</a>`}
        ${s.user_id && html` · user ${s.user_id}`}
        ${!s.has_root && html` · <span class="badge warn">root not received</span>`}
        ${orphans > 0 && html` · <span class="badge warn">${orphans} orphan${orphans > 1 ? 's' : ''}</span>`}
      </div>
    </div>
    <div class="stats compact">
      <${Stat} label="Duration" value=${fmt.duration(s.duration_ns)} />
      <${Stat} label="Spans" value=${fmt.count(s.span_count)} />
      <${Stat} label="Errors" value=${fmt.count(s.error_count)} tone=${s.error_count ? 'bad' : ''} />
      <${Stat} label="Tokens" value=${fmt.compact(fmt.totalTokens(s.usage))} detail=${`in ${fmt.compact(s.usage.input_tokens)} · out ${fmt.compact(s.usage.output_tokens)}`} />
      <${Stat} label="Cost" value=${fmt.usdWithUnpriced(s.cost, s.unpriced_count)} tone=${s.unpriced_count ? 'warn' : ''} />
    </div>
    <a class="button" href=${apiUrl(`/traces/${s.trace_id}`)} download=${`trace-${s.trace_id}.json`}>Download JSON</a>
  </div>`;
}

/** @param {{ params: Record<string, string>, query: Query, path: string, canWrite: boolean }} props */
export function Trace({ params, query, path, canWrite }) {
  const id = params.id;
  // The tree without attributes: a 10,000-span trace stays light; the detail pane reads its
  // span in full.
  /** @type {ApiState<Api.TraceTree>} */
  const state = useApi(`/traces/${id}`, { attributes: 'false' });
  const tree = state.data;
  const [expanded, setExpanded] = useState(/** @type {Set<number>} */ (new Set()));
  const index = useMemo(() => new Map((tree?.nodes ?? []).map((n, i) => [n.span.span_id, i])), [tree]);
  useEffect(() => {
    if (!tree) return;
    const open = initialExpanded(tree.nodes);
    const at = index.get(query.span);
    if (at !== undefined) for (const a of ancestors(tree.nodes, at)) open.add(a);
    setExpanded(open);
  }, [tree]);
  if (!tree) return html`<${Pending} state=${state} />`;

  const graph = path.endsWith('/graph');
  const base = `/traces/${id}`;
  const selected = index.get(query.span);
  /** @param {number} i */
  const select = (i) => setQuery({ span: tree.nodes[i].span.span_id });
  /** @param {string} spanId */
  const openSpan = (spanId) => {
    const at = index.get(spanId);
    if (at === undefined) return;
    const open = new Set(expanded);
    for (const a of ancestors(tree.nodes, at)) open.add(a);
    setExpanded(open);
  };
  return html`<div class="view trace">
    <${Header} tree=${tree} />
    <details class="trace-scores" open=${query.scores === 'open' ? true : undefined}>
      <summary>Scores of this trace and its spans</summary>
      <${ScoresSection} title="" query=${{ trace_id: id }} target=${{ trace_id: id }} canWrite=${canWrite} showTarget=${true} empty="No scores yet: send them over the API, OpenTelemetry (gen_ai.evaluation.result) or Phoenix's and Langfuse's clients, or run an evaluator." />
    </details>
    <div class="trace-tabs">
      <${Tabs} items=${[
        ['Timeline', withQuery(base, { span: query.span }), !graph],
        ['Agent graph', withQuery(`${base}/graph`, { span: query.span }), graph],
      ]} />
      ${!graph &&
      html`<div class="tree-actions">
        <button type="button" class="link-button" onClick=${() => setExpanded(allParents(tree.nodes))}>Expand all</button>
        <button type="button" class="link-button" onClick=${() => setExpanded(new Set())}>Collapse all</button>
      </div>`}
    </div>
    ${graph
      ? html`<${AgentGraph} traceId=${id} mode=${query.mode === 'expanded' ? 'expanded' : 'aggregated'} onOpenSpan=${(/** @type {string} */ spanId) => {
          openSpan(spanId);
          navigate(withQuery(base, { span: spanId }));
        }} />`
      : html`<div class=${`trace-body ${selected !== undefined ? 'with-detail' : ''}`}>
          <${Timeline} tree=${tree} expanded=${expanded} setExpanded=${setExpanded} selected=${selected} onSelect=${select} />
          ${selected !== undefined &&
          html`<${SpanDetail} key=${query.span} traceId=${id} node=${tree.nodes[selected]} traceStart=${tree.summary.start_unix_nano} onClose=${() => setQuery({ span: null })} canWrite=${canWrite} q=${query.q} />`}
        </div>`}
  </div>`;
}
