// Time series as the charts draw them, from the API's answers: stacked bars, a stacked cost
// per bucket and dimension, a line per group, calls per bucket. Pure functions (tested with
// node --test in ../../tests); components/chart.js draws them with uPlot.

/** @import { Range } from './range.js' */

/**
 * A series of a chart: its values at each time (null: no value there), drawn as a line (the
 * default), an area or a bar (bars stack).
 * @typedef {{ label: string, color: string, values: (number | null)[], kind?: 'line' | 'area' | 'bar' }} Series
 */

/**
 * Sums of the series below each one, so bars stack (uPlot draws each from 0): a missing value
 * adds nothing.
 * @param {(number | null)[][]} values at least one series, all of the same length
 * @returns {number[][]}
 */
export function stacked(values) {
  const out = [];
  let below = values[0].map(() => 0);
  for (const v of values) {
    const top = v.map((y, i) => (y === null ? below[i] : below[i] + y));
    out.push(top);
    below = top;
  }
  return out;
}

/**
 * A dimension's value as a label: `(none)` for calls without one.
 * @param {string | null | undefined} v
 */
export const costLabel = (v) => (v === null || v === undefined ? '(none)' : v);

/**
 * Cost over time as stacked bars, one per value of dimension `by` (its `colors.length - 1`
 * costliest values, the rest summed as "other"), from rows grouped by a time dimension
 * (`time`: RFC 3339 bucket starts) and `by`.
 * @param {Api.CostRow[]} rows
 * @param {string} time `day` or `hour`
 * @param {string} by the other dimension
 * @param {string[]} colors one per bar, the last for "other"
 * @returns {{ times: number[], series: (Series & { values: number[] })[] }} times in Unix seconds
 */
export function costOverTime(rows, time, by, colors) {
  /** @type {Map<string, number>} */
  const totals = new Map();
  for (const r of rows) totals.set(costLabel(r.keys[by]), (totals.get(costLabel(r.keys[by])) ?? 0) + (r.cost ?? 0));
  const top = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, colors.length - 1).map(([k]) => k);
  const buckets = [...new Set(rows.map((r) => r.keys[time] ?? ''))].sort();
  const at = new Map(buckets.map((b, i) => [b, i]));
  /** @type {(Series & { values: number[] })[]} */
  const series = [...top, ...(totals.size > top.length ? ['other'] : [])].map((name, i) => ({ label: name, color: colors[i], values: buckets.map(() => 0), kind: 'bar' }));
  for (const r of rows) {
    const name = costLabel(r.keys[by]);
    const s = series.find((x) => x.label === name) ?? series[series.length - 1];
    s.values[at.get(r.keys[time] ?? '') ?? 0] += r.cost ?? 0;
  }
  return { times: buckets.map((b) => Date.parse(b) / 1000), series };
}

/**
 * A tool's calls and failures per bucket over the range, gaps included (the API leaves out
 * buckets without calls): a bucket per `bucketMs` from the one holding the range's start.
 * @param {Api.ToolPoint[]} points
 * @param {Range} range
 * @param {number} bucketMs
 * @returns {{ calls: number[], errors: number[] }}
 */
export function callsPerBucket(points, range, bucketMs) {
  const n = Math.max(1, Math.ceil((range.toMs - range.fromMs) / bucketMs));
  const start = Math.floor(range.fromMs / bucketMs) * bucketMs;
  const calls = new Array(n + 1).fill(0);
  const errors = new Array(n + 1).fill(0);
  for (const p of points) {
    const i = Math.floor((p.start_unix_nano / 1e6 - start) / bucketMs);
    if (i >= 0 && i <= n) {
      calls[i] += p.calls;
      errors[i] += p.errors;
    }
  }
  return { calls, errors };
}

/**
 * A score's mean (a boolean's pass rate) per bucket, a line per group (the first
 * `colors.length`, the largest), over the buckets any of them has.
 * @param {Api.ScoreStats['groups']} groups
 * @param {string[]} colors one per line
 * @param {(key: string | null) => string} name a group's label
 * @returns {{ times: number[], series: Series[] }} times in Unix seconds
 */
export function scoreTrend(groups, colors, name) {
  const shown = groups.slice(0, colors.length);
  const times = [...new Set(shown.flatMap((g) => g.trend.map((p) => p.start_unix_nano)))].sort((x, y) => x - y);
  const at = new Map(times.map((t, i) => [t, i]));
  const series = shown.map((g, i) => {
    /** @type {(number | null)[]} */
    const values = times.map(() => null);
    for (const p of g.trend) values[at.get(p.start_unix_nano) ?? 0] = p.mean;
    return { label: name(g.key), color: colors[i], values };
  });
  return { times: times.map((t) => t / 1e9), series };
}
