// Badges for span kinds, statuses, event levels and alert states.

import { html } from '../lib/html.js';

export function KindBadge({ kind }) {
  return html`<span class=${`badge kind-${kind}`}>${kind}</span>`;
}

export function StatusBadge({ status, message }) {
  const code = typeof status === 'string' ? status : status?.code;
  if (code === 'error') return html`<span class="badge status-error" title=${message ?? status?.message}>error</span>`;
  return html`<span class="badge status-ok">ok</span>`;
}

export function LevelBadge({ level }) {
  return html`<span class=${`badge level-${String(level).toLowerCase()}`}>${level}</span>`;
}

/** OK, WARNING, ALERT, NO_DATA. */
export function AlertStateBadge({ state }) {
  return html`<span class=${`badge alert-${String(state).toLowerCase().replace('_', '-')}`}>${String(state).replace('_', ' ')}</span>`;
}
