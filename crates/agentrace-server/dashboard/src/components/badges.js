// Badges for span kinds, statuses, event levels and alert states.

import { html } from '../lib/html.js';

/** @param {{ kind: string }} props */
export function KindBadge({ kind }) {
  return html`<span class=${`badge kind-${kind}`}>${kind}</span>`;
}

/**
 * A span's or a trace's status: `'error'`, or a span's status object (its message the title).
 * @param {{ status: string | Api.SpanStatus | undefined, message?: string }} props
 */
export function StatusBadge({ status, message }) {
  const code = typeof status === 'string' ? status : status?.code;
  if (code === 'error') return html`<span class="badge status-error" title=${message ?? (typeof status === 'string' ? undefined : status?.message)}>error</span>`;
  return html`<span class="badge status-ok">ok</span>`;
}

/** @param {{ level: string }} props */
export function LevelBadge({ level }) {
  return html`<span class=${`badge level-${String(level).toLowerCase()}`}>${level}</span>`;
}

/**
 * OK, WARNING, ALERT, NO_DATA.
 * @param {{ state: string }} props
 */
export function AlertStateBadge({ state }) {
  return html`<span class=${`badge alert-${String(state).toLowerCase().replace('_', '-')}`}>${String(state).replace('_', ' ')}</span>`;
}
