// Captured content as people read it: who said what, tool calls with their arguments and
// results. All of it is text — Markdown and HTML included — never markup.

import { createContext, html, useContext } from '../lib/html.js';
import { highlight } from '../lib/highlight.js';

/** The words to mark in what is shown beneath (a search hit's span: its query's words). */
export const Highlight = createContext(/** @type {readonly string[]} */ ([]));

/**
 * `text`, the words of [`Highlight`] marked.
 * @param {{ text: string }} props
 */
export function Marked({ text }) {
  const words = useContext(Highlight);
  if (!words.length) return text;
  return highlight(text, words).map((p) => (p.match ? html`<mark>${p.text}</mark>` : p.text));
}

/**
 * JSON text pretty-printed when it is JSON, else as it is; any other value as JSON.
 * @param {unknown} text
 * @returns {string}
 */
export function pretty(text) {
  if (typeof text !== 'string') return JSON.stringify(text, null, 2);
  const trimmed = text.trim();
  if (!(trimmed.startsWith('{') || trimmed.startsWith('['))) return text;
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2);
  } catch {
    return text;
  }
}

/** @param {{ part: Api.Part }} props */
function Part({ part }) {
  switch (part.type) {
    case 'tool_call':
      return html`<div class="part tool-call">
        <div class="part-head">→ calls <strong>${part.name}</strong>${part.id && html` <span class="muted">${part.id}</span>`}</div>
        <pre class="text"><${Marked} text=${pretty(part.arguments)} /></pre>
      </div>`;
    case 'tool_result':
      return html`<div class="part tool-result">
        <div class="part-head">← result${part.id && html` <span class="muted">${part.id}</span>`}</div>
        <pre class="text"><${Marked} text=${pretty(part.result)} /></pre>
      </div>`;
    default:
      return html`<pre class="text"><${Marked} text=${part.text} /></pre>`;
  }
}

/** @param {{ message: Api.Message }} props */
export function Message({ message }) {
  return html`<div class=${`message role-${String(message.role).replace(/[^a-z_]/gi, '')}`}>
    <div class="role">${message.role}${message.finish_reason && html` <span class="muted">· ${message.finish_reason}</span>`}</div>
    ${message.parts.map((p) => html`<${Part} part=${p} />`)}
  </div>`;
}

/**
 * The tools offered to the model, each with what it was told of it.
 * @param {{ tools: NonNullable<Api.SpanContent['tools']> }} props
 */
function ToolsOffered({ tools }) {
  return html`<div class="captured-group tools-offered">
    <h4>Tools offered</h4>
    ${tools.map(
      (t) => html`<details class="part tool-definition">
        <summary><strong>${t.name}</strong>${t.description && html` <span class="muted">${t.description}</span>`}</summary>
        ${t.parameters && html`<pre class="text">${pretty(t.parameters)}</pre>`}
      </details>`,
    )}
  </div>`;
}

/**
 * A span's content: system instructions, the tools offered, messages in and out, tool input
 * and output.
 * @param {{ content: Api.SpanContent | null | undefined }} props
 */
export function Content({ content }) {
  if (!content || !Object.keys(content).length) return null;
  return html`<div class="captured">
    ${content.system?.map((t) => html`<div class="message role-system"><div class="role">system instructions</div><pre class="text"><${Marked} text=${t} /></pre></div>`)}
    ${content.tools && content.tools.length > 0 && html`<${ToolsOffered} tools=${content.tools} />`}
    ${content.input && content.input.length > 0 && html`<div class="captured-group"><h4>${content.input_is_delta ? 'Input (the messages new since the previous call)' : 'Input'}</h4>${content.input.map((m) => html`<${Message} message=${m} />`)}</div>`}
    ${content.output && content.output.length > 0 && html`<div class="captured-group"><h4>Output</h4>${content.output.map((m) => html`<${Message} message=${m} />`)}</div>`}
    ${content.tool &&
    html`<div class="captured-group">
      <h4>Tool call</h4>
      ${content.tool.arguments !== undefined && html`<div class="part tool-call"><div class="part-head">arguments</div><pre class="text"><${Marked} text=${pretty(content.tool.arguments)} /></pre></div>`}
      ${content.tool.result !== undefined && html`<div class="part tool-result"><div class="part-head">result</div><pre class="text"><${Marked} text=${pretty(content.tool.result)} /></pre></div>`}
    </div>`}
  </div>`;
}
