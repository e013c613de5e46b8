// Scores where a trace, span or session is shown: each score with its value, who gave it and
// why (a judge's trace one click away), and — for a user whose token may write — a form to
// annotate: thumbs up or down, a named score, a comment.

import { html, useState, withValue } from '../lib/html.js';
import { post, useApi } from '../lib/api.js';
import * as fmt from '../lib/format.js';
import { Pending } from './common.js';
import { Icon } from './icons.js';

/**
 * @import { ApiState } from '../lib/api.js'
 * @import { QueryPatch } from '../lib/url.js'
 */

/**
 * What a score is of: a trace, a span (with its trace when known) or a session.
 * @typedef {{ trace_id?: string, span_id?: string, session_id?: string }} ScoreTarget
 */

/**
 * A score's value as read: a boolean's pass/fail, a number, a label, or both.
 * @param {{ score: Api.Score }} props
 */
export function ScoreValue({ score }) {
  if (score.data_type === 'boolean') {
    const passed = score.value === 1;
    return html`<span class=${`badge ${passed ? 'score-pass' : 'score-fail'}`}>${passed ? '✓ pass' : '✗ fail'}</span>`;
  }
  const number = score.value !== null && score.value !== undefined ? fmt.scoreNumber(score.value) : null;
  if (score.data_type === 'text') return html`<span class="score-text">${score.label}</span>`;
  return html`${number !== null && html`<span class="score-number">${number}</span>`}${score.label && html` <span class="badge score-label">${score.label}</span>`}`;
}

/**
 * Who gave a score: its source and annotator kind, and its author.
 * @param {{ score: Api.Score }} props
 */
function Giver({ score }) {
  return html`<span class="score-giver">
    <span class=${`badge source-${score.source}`}>${score.source}</span>
    <span class="muted small">${score.annotator_kind}${score.author ? ` · ${score.author}` : ''}</span>
  </span>`;
}

/**
 * A link to what a score judged (a score has a session, a span or a trace).
 * @param {{ score: Api.Score }} props
 */
function Target({ score }) {
  if (score.session_id) return html`<a class="small" href=${`/sessions/${encodeURIComponent(score.session_id)}`}>session <span class="mono">${score.session_id}</span></a>`;
  if (score.span_id && score.trace_id) return html`<a class="mono small" href=${`/traces/${score.trace_id}?span=${score.span_id}`}>span ${score.span_id.slice(0, 8)}</a>`;
  if (score.span_id) return html`<span class="mono small muted">span ${score.span_id.slice(0, 8)}</span>`;
  const trace = /** @type {string} */ (score.trace_id);
  return html`<a class="mono small" href=${`/traces/${trace}`}>trace ${trace.slice(0, 8)}</a>`;
}

/**
 * One score as a row of the list.
 * @param {{ score: Api.Score, showTarget: boolean }} props
 */
function ScoreRow({ score, showTarget }) {
  const judge = score.metadata?.judge_trace_id;
  const target = showTarget ? html`<${Target} score=${score} />` : null;
  return html`<li class="score" data-score=${score.name}>
    <div class="score-head">
      <strong class="score-name">${score.name}</strong>
      <${ScoreValue} score=${score} />
      <${Giver} score=${score} />
      ${target}
      <span class="muted small" title=${fmt.dateTime(score.time_unix_nano)}>${fmt.ago(score.time_unix_nano)}</span>
    </div>
    ${score.explanation && html`<div class="score-explanation">${score.explanation}</div>`}
    ${judge && html`<a class="small judge-link" href=${`/traces/${judge}`}>The judge's trace →</a>`}
  </li>`;
}

/**
 * The scores `query` selects (`{ trace_id }`, `{ span_id }`, `{ session_id }`), newest first;
 * `refresh` reloads them. `showTarget`: name the span of each (a trace's list).
 * @param {{ query: QueryPatch, refresh?: number, showTarget?: boolean, empty?: string }} props
 */
export function ScoreList({ query, refresh = 0, showTarget = false, empty = 'No scores yet.' }) {
  /** @type {ApiState<Api.ScorePage>} */
  const state = useApi('/scores', { ...query, limit: 200 }, refresh);
  if (!state.data) return html`<${Pending} state=${state} />`;
  const scores = state.data.scores;
  if (!scores.length) return html`<div class="muted small empty-scores">${empty}</div>`;
  return html`<ul class="scores">${scores.map((s) => html`<${ScoreRow} key=${s.id} score=${s} showTarget=${showTarget} />`)}</ul>`;
}

/**
 * The annotation form of a target (`{ trace_id }`, `{ span_id, trace_id }` or
 * `{ session_id }`): thumbs, a named score (a number or a label) and a comment. Calls
 * `onSaved` after each score stored.
 * @param {{ target: ScoreTarget, onSaved?: () => void }} props
 */
export function Annotate({ target, onSaved }) {
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [comment, setComment] = useState('');
  const [state, setState] = useState(/** @type {{ busy: boolean, error: Error | null, done: string | null }} */ ({ busy: false, error: null, done: null }));
  /**
   * Stores a score of the target (`score`: its name and value, label or explanation).
   * @param {Partial<Api.ScoreInput>} score
   * @param {string} what how the confirmation names it
   */
  const save = (score, what) => {
    setState({ busy: true, error: null, done: null });
    return post('/scores', { ...target, source: 'annotation', annotator_kind: 'human', author: 'dashboard', ...score }).then(
      () => {
        setState({ busy: false, error: null, done: what });
        onSaved?.();
      },
      (error) => setState({ busy: false, error, done: null }),
    );
  };
  /** @param {boolean} up */
  const thumbs = (up) => save({ name: 'thumbs', data_type: 'boolean', value: up ? 1 : 0, explanation: comment || undefined }, up ? 'thumbs up' : 'thumbs down');
  /** @param {SubmitEvent} event */
  const named = (event) => {
    event.preventDefault();
    const trimmed = value.trim();
    const number = trimmed !== '' && !Number.isNaN(Number(trimmed)) ? Number(trimmed) : null;
    const score = number !== null ? { value: number } : { label: trimmed };
    save({ name: name.trim(), ...score, explanation: comment || undefined }, name.trim()).then(() => setValue(''));
  };
  const note = () => save({ name: 'comment', data_type: 'text', label: comment }, 'comment').then(() => setComment(''));
  return html`<form class="annotate" onSubmit=${named} aria-label="Annotate">
    <div class="annotate-row">
      <button type="button" class="thumb up" aria-label="Thumbs up" title="Good" disabled=${state.busy} onClick=${() => thumbs(true)}><${Icon} name="thumbs-up" size=${16} /></button>
      <button type="button" class="thumb down" aria-label="Thumbs down" title="Bad" disabled=${state.busy} onClick=${() => thumbs(false)}><${Icon} name="thumbs-down" size=${16} /></button>
      <input class="annotate-name" placeholder="Score name" aria-label="Score name" value=${name} onInput=${withValue(setName)} />
      <input class="annotate-value" placeholder="Value or label" aria-label="Value or label" value=${value} onInput=${withValue(setValue)} />
      <button type="submit" disabled=${state.busy || !name.trim() || !value.trim()}>Score</button>
    </div>
    <div class="annotate-row">
      <input class="annotate-comment" placeholder="Comment (kept with the score, or on its own)" aria-label="Comment" value=${comment} onInput=${withValue(setComment)} />
      <button type="button" disabled=${state.busy || !comment.trim()} onClick=${note}>Add comment</button>
    </div>
    ${state.error && html`<div class="error-text small" role="alert">${state.error.message}</div>`}
    ${state.done && html`<div class="ok-text small" role="status">Saved: ${state.done}</div>`}
  </form>`;
}

/**
 * Scores of a target, with the annotation form when `canWrite`.
 * @param {{ title?: string, query: QueryPatch, target: ScoreTarget, canWrite: boolean, showTarget?: boolean, empty?: string }} props
 */
export function ScoresSection({ title = 'Scores', query, target, canWrite, showTarget = false, empty }) {
  const [refresh, setRefresh] = useState(0);
  return html`<section class="detail-section scores-section">
    <h3>${title}</h3>
    <${ScoreList} query=${query} refresh=${refresh} showTarget=${showTarget} empty=${empty} />
    ${canWrite && html`<${Annotate} target=${target} onSaved=${() => setRefresh((r) => r + 1)} />`}
  </section>`;
}
