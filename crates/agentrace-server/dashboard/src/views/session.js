// A session as a conversation: its traces in order, each turn with what the user sent, what
// came back, who answered and what it cost, and the session's running cost. Live: new turns
// appear as their spans arrive.

import { html, useEffect, useRef, useState } from '../lib/html.js';
import { get } from '../lib/api.js';
import { changesSpans, useLiveRefresh } from '../lib/live.js';
import * as fmt from '../lib/format.js';
import { ErrorBox, Facts, Loading } from '../components/common.js';
import { StatusBadge } from '../components/badges.js';
import { ScoresSection } from '../components/scores.js';

const PAGE = 25;

/**
 * One turn: a trace of the session with what was said, and the session's cost up to it.
 * @param {{ t: Api.SessionTrace, running: number }} props
 */
function Turn({ t, running }) {
  return html`<li class=${`turn ${t.error_count ? 'has-error' : ''}`}>
    <div class="turn-meta">
      <a href=${`/traces/${t.trace_id}`} class="turn-title">${t.root_name}</a>
      <span class="muted small">${fmt.dateTime(t.start_unix_nano)} · ${fmt.duration(t.duration_ns)}${t.agent_name ? ` · ${t.agent_name}` : ''}</span>
      <span class="turn-figures">
        ${t.error_count ? html`<${StatusBadge} status="error" /> ` : ''}
        ${fmt.compact(fmt.totalTokens(t.usage))} tokens · ${fmt.usdWithUnpriced(t.cost, t.unpriced_count)}
        <span class="running" title="The session's cost up to and including this turn">Σ ${fmt.usd(running)}</span>
      </span>
    </div>
    ${t.turn?.input && html`<div class="bubble user"><div class="who">user</div><pre class="text">${t.turn.input}</pre></div>`}
    ${t.turn?.output && html`<div class="bubble assistant"><div class="who">${t.agent_name ?? 'assistant'}</div><pre class="text">${t.turn.output}</pre></div>`}
    ${!t.turn?.input && !t.turn?.output && html`<div class="muted small">No content captured for this turn.</div>`}
  </li>`;
}

/** @param {{ params: Record<string, string>, canWrite: boolean }} props */
export function Session({ params, canWrite }) {
  const id = params.id;
  const [data, setData] = useState(/** @type {Api.SessionPage | null} */ (null));
  const [error, setError] = useState(/** @type {Error | null} */ (null));
  const [loading, setLoading] = useState(false);
  const latest = useRef(/** @type {Api.SessionPage | null} */ (null));
  latest.current = data;
  const query = { order: 'asc', messages: 'true', limit: PAGE };
  const path = `/sessions/${encodeURIComponent(id)}`;

  useEffect(() => {
    setData(null);
    /** @type {Promise<Api.SessionPage>} */ (get(path, query)).then(setData, setError);
  }, [id]);

  const more = () => {
    const d = latest.current;
    if (!d?.next_cursor) return Promise.resolve();
    setLoading(true);
    return /** @type {Promise<Api.SessionPage>} */ (get(path, { ...query, cursor: d.next_cursor }))
      .then((page) => setData({ ...page, traces: [...d.traces, ...page.traces] }), setError)
      .finally(() => setLoading(false));
  };

  // New turns: re-read the summary and whatever follows the last turn shown.
  const refresh = () => {
    const d = latest.current;
    if (!d) return;
    /** @type {Promise<Api.SessionPage>} */ (get(path, { ...query, limit: Math.min(1000, d.traces.length + PAGE) })).then(setData, setError);
  };
  useLiveRefresh({ session: id }, refresh, { everyMs: 1500, when: changesSpans });

  if (error && !data) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} />`;
  const s = data.session;
  let running = 0;
  const turns = data.traces.map((t) => {
    running += t.cost ?? 0;
    return { t, running };
  });
  return html`<div class="view session">
    <div class="session-head">
      <h2 class="mono">${s.session_id}</h2>
      <${Facts}
        items=${[
          ['User', s.user_id],
          ['Turns', fmt.count(s.traces)],
          ['Spans', fmt.count(s.spans)],
          ['Errors', fmt.count(s.errors)],
          ['Tokens', fmt.compact(fmt.totalTokens(s.usage))],
          ['Cost', fmt.usdWithUnpriced(s.cost, s.unpriced)],
          ['First seen', fmt.dateTime(s.first_seen_unix_nano)],
          ['Last active', `${fmt.dateTime(s.last_seen_unix_nano)} (${fmt.ago(s.last_seen_unix_nano)})`],
        ]}
      />
    </div>
    <${ScoresSection} title="Scores of this session" query=${{ session_id: id }} target=${{ session_id: id }} canWrite=${canWrite} empty="No scores of this session." />
    <ol class="thread">
      ${turns.map(({ t, running: r }) => html`<${Turn} key=${t.trace_id} t=${t} running=${r} />`)}
    </ol>
    ${data.next_cursor && html`<div class="more"><button type="button" onClick=${more} disabled=${loading}>${loading ? 'Loading…' : 'Later turns'}</button></div>`}
  </div>`;
}
