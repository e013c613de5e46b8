// The time range: presets that follow "now", or a fixed window picked by hand.

import { html, useState, withValue } from '../lib/html.js';
import { setQuery } from '../lib/router.js';
import { PRESETS, rangeLabel, rangeQuery } from '../lib/range.js';

/** @import { Range } from '../lib/range.js' */

/**
 * Unix milliseconds as a `datetime-local` input's value (local time, to the minute).
 * @param {number} ms
 */
const localInput = (ms) => {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60e3);
  return d.toISOString().slice(0, 16);
};

/** @param {{ range: Range }} props */
export function RangePicker({ range }) {
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState(localInput(range.fromMs));
  const [to, setTo] = useState(localInput(range.toMs));
  /** @param {string} preset */
  const pick = (preset) => {
    setQuery(rangeQuery({ preset }), { push: true });
    setOpen(false);
  };
  /** @param {SubmitEvent} event */
  const apply = (event) => {
    event.preventDefault();
    const f = new Date(from).getTime();
    const t = new Date(to).getTime();
    if (Number.isFinite(f) && Number.isFinite(t) && f < t) {
      setQuery(rangeQuery({ preset: null, fromMs: f, toMs: t }), { push: true });
      setOpen(false);
    }
  };
  const toggle = () => {
    setFrom(localInput(range.fromMs));
    setTo(localInput(range.toMs));
    setOpen(!open);
  };
  return html`<div class="range-picker">
    <button type="button" class="range-button" aria-expanded=${open} onClick=${toggle}>
      <span class="clock">◷</span> ${rangeLabel(range)}
    </button>
    ${open &&
    html`<div class="range-menu" role="dialog" aria-label="Time range">
      <ul>
        ${PRESETS.map(
          ([name, label]) => html`<li><button type="button" class=${range.preset === name ? 'selected' : ''} onClick=${() => pick(name)}>${label}</button></li>`,
        )}
      </ul>
      <form class="custom-range" onSubmit=${apply}>
        <label>From <input type="datetime-local" value=${from} onInput=${withValue(setFrom)} /></label>
        <label>To <input type="datetime-local" value=${to} onInput=${withValue(setTo)} /></label>
        <button type="submit" class="primary">Apply</button>
      </form>
    </div>`}
  </div>`;
}
