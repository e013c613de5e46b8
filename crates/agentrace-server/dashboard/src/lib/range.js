// The time range every view shares, kept in the URL: `range=1h` (a preset that follows "now")
// or `from=…&to=…` (a fixed window, Unix milliseconds). Pure functions.

/**
 * The time range a view shows: a preset (`follows` "now") or a fixed window, in Unix
 * milliseconds.
 * @typedef {{ preset: string | null, fromMs: number, toMs: number, follows: boolean }} Range
 */

/**
 * Presets, shortest first: [name, label, milliseconds].
 * @type {[string, string, number][]}
 */
export const PRESETS = [
  ['15m', 'Last 15 minutes', 15 * 60e3],
  ['1h', 'Last hour', 3600e3],
  ['6h', 'Last 6 hours', 6 * 3600e3],
  ['24h', 'Last 24 hours', 24 * 3600e3],
  ['7d', 'Last 7 days', 7 * 86400e3],
  ['30d', 'Last 30 days', 30 * 86400e3],
];

export const DEFAULT_PRESET = '1h';

/**
 * The range a query names: `{ preset, fromMs, toMs, follows }` — `follows` when the end is
 * "now" (a preset), so live views keep moving it.
 * @param {{ range?: string, from?: string, to?: string }} query
 * @param {number} [nowMs]
 * @returns {Range}
 */
export function rangeOf(query, nowMs = Date.now()) {
  const from = Number(query.from);
  const to = Number(query.to);
  if (query.from && query.to && Number.isFinite(from) && Number.isFinite(to) && from < to) {
    return { preset: null, fromMs: from, toMs: to, follows: false };
  }
  const preset = PRESETS.find(([name]) => name === query.range) ?? PRESETS.find(([name]) => name === DEFAULT_PRESET);
  if (!preset) throw new Error(`no preset ${DEFAULT_PRESET}`);
  return { preset: preset[0], fromMs: nowMs - preset[2], toMs: nowMs, follows: true };
}

/**
 * The API's `from`/`to` for a range: relative for presets (the server's clock decides).
 * @param {Range} range
 * @returns {{ from: string, to?: string }}
 */
export function apiRange(range) {
  if (range.follows) return { from: `-${range.preset}` };
  return { from: String(range.fromMs * 1e6), to: String(range.toMs * 1e6) };
}

/**
 * The label a picker shows.
 * @param {Range} range
 */
export function rangeLabel(range) {
  const preset = PRESETS.find(([name]) => name === range.preset);
  if (preset) return preset[1];
  /** @param {number} ms */
  const f = (ms) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
  return `${f(range.fromMs)} → ${f(range.toMs)} UTC`;
}

/**
 * The query keys of a range (the others cleared).
 * @param {{ preset: string | null, fromMs?: number, toMs?: number }} range a preset, or a window
 *   (`fromMs` to `toMs`)
 * @returns {{ range: string | null, from: string | null, to: string | null }}
 */
export function rangeQuery(range) {
  return range.preset
    ? { range: range.preset, from: null, to: null }
    : { range: null, from: String(range.fromMs), to: String(range.toMs) };
}

/**
 * A bucket width (for series the API does not bucket itself): at most ~60 points.
 * @param {Range} range
 */
export function bucketFor(range) {
  const span = range.toMs - range.fromMs;
  /** @type {[string, number][]} */
  const steps = [
    ['1m', 60e3],
    ['5m', 300e3],
    ['15m', 900e3],
    ['1h', 3600e3],
    ['6h', 6 * 3600e3],
    ['1d', 86400e3],
  ];
  return (steps.find(([, ms]) => span / ms <= 60) ?? steps[steps.length - 1])[0];
}
