// Numbers, money, durations and times as the dashboard shows them. Pure functions (tested
// with node --test in ../tests).

const NS_PER_MS = 1e6;

/** A number the API may leave out: unknown reads `—` (or, for money, "unpriced").
 * @typedef {number | null | undefined} Maybe */

/**
 * `1234` → `1,234`; `null` → `—`.
 * @param {Maybe} n
 */
export function count(n) {
  if (n === null || n === undefined) return '—';
  return Math.round(n).toLocaleString('en-US');
}

/**
 * Compact counts: `950`, `1.2k`, `3.4M`, `1.1B`.
 * @param {Maybe} n
 */
export function compact(n) {
  if (n === null || n === undefined) return '—';
  const abs = Math.abs(n);
  /** @type {[number, string][]} */
  const units = [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, unit] of units) {
    if (abs >= size) {
      const v = n / size;
      return `${Number(v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2))}${unit}`;
    }
  }
  return String(Math.round(n));
}

/**
 * US dollars. Unknown (`null`) is never shown as $0: it reads "unpriced". Small amounts keep
 * their significant digits ($0.000123).
 * @param {Maybe} cost
 */
export function usd(cost) {
  if (cost === null || cost === undefined) return 'unpriced';
  if (cost === 0) return '$0';
  const abs = Math.abs(cost);
  if (abs >= 1000) return `$${cost.toLocaleString('en-US', { maximumFractionDigits: 0 })}`;
  if (abs >= 1) return `$${cost.toFixed(2)}`;
  if (abs >= 0.1) return `$${cost.toFixed(3)}`;
  return `$${cost.toPrecision(3)}`;
}

/**
 * Cost with the unpriced calls beside it: `$1.20 + 3 unpriced`.
 * @param {Maybe} cost
 * @param {Maybe} unpriced
 */
export function usdWithUnpriced(cost, unpriced) {
  if (!unpriced) return usd(cost);
  if (cost === null || cost === undefined) return `unpriced (${count(unpriced)})`;
  return `${usd(cost)} + ${count(unpriced)} unpriced`;
}

/**
 * A duration in nanoseconds: `850µs`, `12.3ms`, `4.56s`, `2m 05s`, `1h 02m`.
 * @param {Maybe} ns
 */
export function duration(ns) {
  if (ns === null || ns === undefined) return '—';
  if (ns < 1e3) return `${Math.round(ns)}ns`;
  if (ns < NS_PER_MS) return `${(ns / 1e3).toFixed(0)}µs`;
  const ms = ns / NS_PER_MS;
  if (ms < 10) return `${ms.toFixed(2)}ms`;
  if (ms < 1000) return `${ms.toFixed(0)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/**
 * A score's number: at most three decimals, no trailing zeros (`0.5`, `0.833`, `12`).
 * @param {Maybe} v
 */
export function scoreNumber(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return String(Number(v.toFixed(3)));
}

/**
 * A ratio as a percentage: `0.0123` → `1.23%`.
 * @param {Maybe} ratio
 * @param {number} [digits]
 */
export function percent(ratio, digits = 1) {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return '—';
  return `${(ratio * 100).toFixed(digits)}%`;
}

/**
 * @param {number} n
 * @param {number} [w]
 */
const pad = (n, w = 2) => String(n).padStart(w, '0');

/**
 * Unix nanoseconds as local date and time: `2026-11-22 08:15:02`.
 * @param {Maybe} unixNano
 */
export function dateTime(unixNano) {
  if (!unixNano) return '—';
  const d = new Date(unixNano / NS_PER_MS);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * Unix nanoseconds as local time of day with milliseconds: `08:15:02.123`.
 * @param {Maybe} unixNano
 */
export function timeOfDay(unixNano) {
  if (!unixNano) return '—';
  const d = new Date(unixNano / NS_PER_MS);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/**
 * How long ago, from `nowMs` (default now): `12s ago`, `5m ago`, `3h ago`, `2d ago`.
 * @param {Maybe} unixNano
 * @param {number} [nowMs]
 */
export function ago(unixNano, nowMs = Date.now()) {
  if (!unixNano) return '—';
  const s = Math.max(0, (nowMs - unixNano / NS_PER_MS) / 1000);
  if (s < 60) return `${Math.floor(s)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/**
 * Bytes: `512 B`, `1.5 KiB`, `2.0 GiB`.
 * @param {Maybe} n
 */
export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * Every token type of a usage object summed the way people read it: input + output.
 * @param {{ input_tokens?: number, output_tokens?: number } | null | undefined} usage
 */
export function totalTokens(usage) {
  if (!usage) return 0;
  return (usage.input_tokens ?? 0) + (usage.output_tokens ?? 0);
}
