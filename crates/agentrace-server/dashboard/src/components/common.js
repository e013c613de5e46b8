// Small building blocks every view uses.

import { html, useState } from '../lib/html.js';
import { Icon } from './icons.js';

/**
 * @import { ComponentChildren } from 'preact'
 * @import { ApiState } from '../lib/api.js'
 */

/**
 * A titled panel.
 * @param {{ title?: ComponentChildren, actions?: ComponentChildren, children?: ComponentChildren, class?: string }} props
 */
export function Card({ title, actions, children, class: cls = '' }) {
  return html`<section class=${`card ${cls}`}>
    ${(title || actions) && html`<header class="card-head"><h2>${title}</h2>${actions && html`<div class="card-actions">${actions}</div>`}</header>`}
    ${children}
  </section>`;
}

/**
 * A headline number with a label and an optional detail line.
 * @param {{ label: string, value: ComponentChildren, detail?: ComponentChildren, tone?: string, title?: string }} props
 */
export function Stat({ label, value, detail, tone = '', title }) {
  return html`<div class=${`stat ${tone}`} title=${title}>
    <div class="stat-label">${label}</div>
    <div class="stat-value" data-stat=${label}>${value}</div>
    ${detail && html`<div class="stat-detail">${detail}</div>`}
  </div>`;
}

/**
 * Label → value pairs; a pair without a value (null, undefined or '') is left out.
 * @param {{ items: [string, ComponentChildren][] }} props
 */
export function Facts({ items }) {
  return html`<dl class="facts">
    ${items
      .filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v]) => html`<div class="fact"><dt>${k}</dt><dd>${v}</dd></div>`)}
  </dl>`;
}

/** @param {{ children?: ComponentChildren }} props */
export function Empty({ children }) {
  return html`<div class="empty">${children}</div>`;
}

export function Loading() {
  return html`<div class="loading" aria-busy="true"><span class="spinner"></span> Loading…</div>`;
}

/**
 * An error as the API gave it (`ApiError`: its status and code), or any other.
 * @param {{ error: { message: string, status?: number, code?: string } | null | undefined }} props
 */
export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="error-box" role="alert">
    <strong>${error.status ? `${error.status} ${error.code ?? ''}` : 'Error'}</strong> ${error.message}
  </div>`;
}

/**
 * What a view shows while its first answer loads or after it failed.
 * @param {{ state: ApiState<unknown> }} props
 */
export function Pending({ state }) {
  if (state.error && !state.data) return html`<${ErrorBox} error=${state.error} />`;
  if (!state.data) return html`<${Loading} />`;
  return null;
}

/**
 * A value with a button copying it.
 * @param {{ text: string, label?: ComponentChildren }} props
 */
export function Copy({ text, label }) {
  const [done, setDone] = useState(false);
  const copy = () =>
    navigator.clipboard?.writeText(text).then(() => {
      setDone(true);
      setTimeout(() => setDone(false), 1200);
    });
  return html`<span class="copy"><code>${label ?? text}</code><button type="button" class="icon-button" title=${done ? 'Copied' : 'Copy'} aria-label="Copy" onClick=${copy}><${Icon} name=${done ? 'check' : 'copy'} size=${13} /></button></span>`;
}

/**
 * Tabs as links (each tab its own URL): `[label, href, active]`.
 * @param {{ items: [string, string, boolean][] }} props
 */
export function Tabs({ items }) {
  return html`<nav class="tabs">
    ${items.map(([label, href, active]) => html`<a href=${href} class=${active ? 'tab active' : 'tab'} aria-current=${active ? 'page' : undefined}>${label}</a>`)}
  </nav>`;
}
