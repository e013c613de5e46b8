// Filter fields bound to the URL's query: typing updates the URL (debounced), so a filtered
// view can be shared and survives a reload.

import { html, useEffect, useRef, useState, withValue } from '../lib/html.js';
import { setQuery } from '../lib/router.js';

/** @import { ComponentChildren } from 'preact' */
/** @import { Query } from '../lib/url.js' */

/**
 * A text filter on query key `name`.
 * @param {{ name: string, label: string, query: Query, placeholder?: string, width?: string }} props
 */
export function TextFilter({ name, label, query, placeholder, width }) {
  const [value, setValue] = useState(query[name] ?? '');
  const timer = useRef(/** @type {ReturnType<typeof setTimeout> | undefined} */ (undefined));
  useEffect(() => setValue(query[name] ?? ''), [query[name]]);
  const change = withValue((v) => {
    setValue(v);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setQuery({ [name]: v.trim() || null, cursor: null }), 350);
  });
  return html`<label class="filter" style=${width ? { width } : undefined}>
    <span>${label}</span>
    <input type="search" name=${name} value=${value} placeholder=${placeholder ?? 'any'} onInput=${change} autocomplete="off" spellcheck="false" />
  </label>`;
}

/**
 * A choice filter on query key `name`: `options` as `[value, label]`, `''` meaning any.
 * @param {{ name: string, label: string, query: Query, options: [string, string][] }} props
 */
export function SelectFilter({ name, label, query, options }) {
  return html`<label class="filter">
    <span>${label}</span>
    <select name=${name} value=${query[name] ?? ''} onChange=${withValue((v) => setQuery({ [name]: v || null, cursor: null }))}>
      ${options.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
    </select>
  </label>`;
}

/**
 * A row of filters with a reset link when any of the query keys `names` is set.
 * @param {{ query: Query, names: string[], children?: ComponentChildren }} props
 */
export function FilterBar({ query, names, children }) {
  const active = names.some((n) => query[n]);
  const reset = () => setQuery(Object.fromEntries(names.map((n) => [n, null])));
  return html`<div class="filter-bar">
    ${children}
    ${active && html`<button type="button" class="link-button reset" onClick=${reset}>Clear filters</button>`}
  </div>`;
}

/**
 * An attribute key, applied on Enter or when the field is left (not at every keystroke: a
 * half-typed key would be a query of its own); `''` clears it.
 * @param {{ label: string, value: string, onApply: (key: string) => void }} props
 */
export function AttributeKeyInput({ label, value, onApply }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const apply = () => {
    if (text.trim() !== value) onApply(text.trim());
  };
  return html`<label class="filter">
    <span>${label}</span>
    <input type="search" name="attribute" value=${text} placeholder="customer.id" pattern="[A-Za-z0-9_.:/\-]{1,64}" title="An attribute of the span, else of its resource: 1 to 64 letters, digits and _ . - : /"
      onInput=${withValue(setText)} onBlur=${apply} onKeyDown=${(/** @type {KeyboardEvent} */ e) => e.key === 'Enter' && apply()} autocomplete="off" spellcheck="false" />
  </label>`;
}
