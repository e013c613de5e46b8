// One span in full: timings, usage and cost by token type, what it captured (messages, tool
// calls), its span events and every attribute. Loaded when selected.

import { html, useMemo, useState, withValue } from '../../lib/html.js';
import { useApi } from '../../lib/api.js';
import * as fmt from '../../lib/format.js';
import { Copy, Facts, Pending } from '../../components/common.js';
import { KindBadge, StatusBadge } from '../../components/badges.js';
import { Content, Highlight, Marked, pretty } from '../../components/messages.js';
import { ScoresSection } from '../../components/scores.js';

/** @import { ApiState } from '../../lib/api.js' */

/** @param {{ span: Api.Span }} props */
function Usage({ span }) {
  /** @type {Partial<Api.TokenUsage>} */
  const u = span.usage ?? {};
  const c = span.cost;
  // [label, tokens, cost]
  const rows = /** @type {[string, number | null | undefined, number | null | undefined][]} */ ([
    ['Input (cache included)', u.input_tokens, c?.input],
    ['  cache read', u.cache_read_tokens, c?.cache_read],
    ['  cache write', u.cache_write_tokens, c?.cache_write],
    ['Output (reasoning included)', u.output_tokens, c?.output],
    // A call's reasoning count is null when the instrumentation did not report one.
    ['  reasoning', u.reasoning_tokens ?? (span.kind === 'llm' ? null : 0), null],
  ]).filter(([, tokens]) => tokens !== 0 && tokens !== undefined);
  // The cost the instrumentation reported itself (Langfuse's cost_details), shown apart when it
  // is not agentrace's: agentrace's price is the one every total counts.
  const reported = span.attributes?.['agentrace.cost.reported'];
  const reportedApart = typeof reported === 'number' && (!c || Math.abs(reported - c.total) > 5e-10) ? reported : null;
  if (!rows.length && !c && reportedApart === null) return null;
  return html`<section class="detail-section">
    <h3>Usage and cost</h3>
    <table class="table compact">
      <thead><tr><th>Tokens</th><th class="num">Count</th><th class="num">Cost</th></tr></thead>
      <tbody>
        ${rows.map(([label, tokens, cost]) => html`<tr><td class="pre">${label}</td><td class="num">${tokens === null ? html`<span class="muted" title="The instrumentation did not report this count">not reported</span>` : fmt.count(tokens)}</td><td class="num">${cost === null || cost === undefined ? '' : fmt.usd(cost)}</td></tr>`)}
        <tr class="total"><td>Total</td><td class="num">${fmt.count(fmt.totalTokens(u))}</td><td class="num">${c ? fmt.usd(c.total) : span.kind === 'llm' || span.kind === 'embedding' ? html`<span class="warn-text" title="No price is known for this model">unpriced</span>` : '—'}</td></tr>
        ${reportedApart !== null && html`<tr><td title="The cost the instrumentation reported; agentrace prices the call from its own table">Reported by the instrumentation</td><td></td><td class="num">${fmt.usd(reportedApart)}</td></tr>`}
      </tbody>
    </table>
  </section>`;
}

/** @param {{ attributes: Api.Attributes | undefined }} props */
function Attributes({ attributes }) {
  const [filter, setFilter] = useState('');
  const entries = useMemo(() => Object.entries(attributes ?? {}), [attributes]);
  if (!entries.length) return null;
  const f = filter.toLowerCase();
  const shown = f ? entries.filter(([k, v]) => k.toLowerCase().includes(f) || String(v).toLowerCase().includes(f)) : entries;
  return html`<section class="detail-section">
    <h3>Attributes <span class="muted">${entries.length}</span></h3>
    ${entries.length > 8 && html`<input class="attr-filter" type="search" placeholder="Filter attributes" value=${filter} onInput=${withValue(setFilter)} />`}
    <table class="table compact attributes">
      <tbody>
        ${shown.map(([k, v]) => html`<tr><th scope="row">${k}</th><td><pre class="text"><${Marked} text=${typeof v === 'string' ? v : pretty(v)} /></pre></td></tr>`)}
      </tbody>
    </table>
  </section>`;
}

/** @param {{ span: Api.Span }} props */
function Events({ span }) {
  if (!span.events?.length) return null;
  return html`<section class="detail-section">
    <h3>Span events <span class="muted">${span.events.length}</span></h3>
    <ol class="span-events">
      ${span.events.map(
        (e) => html`<li>
          <div><strong>${e.name}</strong> <span class="muted">+${fmt.duration(e.time_unix_nano - span.start_time_unix_nano)}</span></div>
          ${e.attributes && html`<pre class="text">${pretty(e.attributes)}</pre>`}
        </li>`,
      )}
    </ol>
  </section>`;
}

/**
 * The span of `node` in full, loaded when shown; with `q` (a search hit opened), the query's
 * words marked in its content, error and attributes.
 * @param {{ traceId: string, node: Api.TraceNode, traceStart: number, onClose: () => void, canWrite: boolean, q?: string }} props
 */
export function SpanDetail({ traceId, node, traceStart, onClose, canWrite, q }) {
  const spanId = node.span.span_id;
  /** @type {ApiState<Api.SpanView>} */
  const state = useApi(`/traces/${traceId}/spans/${spanId}`, q ? { q } : {});
  const s = state.data?.span ?? node.span;
  const model = s.response_model && s.request_model && s.response_model !== s.request_model ? `${s.request_model} → ${s.response_model}` : s.response_model ?? s.request_model;
  return html`<${Highlight.Provider} value=${state.data?.highlight ?? []}><aside class="detail" aria-label="Span detail">
    <header class="detail-head">
      <div>
        <div class="detail-title"><${KindBadge} kind=${s.kind} /> <span>${s.name}</span></div>
        <div class="muted small">${s.resource?.service_name}${s.scope ? ` · ${s.scope}` : ''}</div>
      </div>
      <button type="button" class="icon-button" aria-label="Close" onClick=${onClose}>✕</button>
    </header>
    <div class="detail-body">
      <section class="detail-section">
        <${Facts}
          items=${[
            ['Status', html`<${StatusBadge} status=${s.status} />${s.status?.message ? html` <span class="error-text"><${Marked} text=${s.status.message} /></span>` : ''}`],
            ['Duration', fmt.duration(node.duration_ns)],
            ['Start', `${fmt.timeOfDay(s.start_time_unix_nano)} (+${fmt.duration(s.start_time_unix_nano - traceStart)})`],
            ['Provider', s.provider],
            ['Model', model],
            ['Operation', s.operation],
            ['Agent', s.agent_name],
            ['Tool', s.tool_name],
            ['Session', s.session_id && html`<a href=${`/sessions/${encodeURIComponent(s.session_id)}`}>${s.session_id}</a>`],
            ['User', s.user_id],
            ['Framework', s.framework],
            ['Span id', html`<${Copy} text=${s.span_id} />`],
            ['Parent', s.parent_span_id],
          ]}
        />
        ${node.children.length > 0 &&
        html`<p class="muted small">Subtree: ${fmt.count(node.subtree.spans)} spans · ${fmt.count(node.subtree.errors)} failed · ${fmt.compact(fmt.totalTokens(node.subtree.usage))} tokens · ${fmt.usdWithUnpriced(node.subtree.cost, node.subtree.unpriced)}</p>`}
      </section>
      <${ScoresSection} query=${{ span_id: spanId }} target=${{ span_id: spanId, trace_id: traceId }} canWrite=${canWrite} empty="No scores of this span." />
      <${Usage} span=${s} />
      ${state.data?.content && Object.keys(state.data.content).length > 0 && html`<section class="detail-section"><h3>Content</h3><${Content} content=${state.data.content} /></section>`}
      <${Pending} state=${state} />
      <${Events} span=${s} />
      <${Attributes} attributes=${s.attributes} />
    </div>
  </aside></${Highlight.Provider}>`;
}
