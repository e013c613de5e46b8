// node --test: the charts' series, from the API's answers (what uPlot is given to draw).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { callsPerBucket, costLabel, costOverTime, scoreTrend, stacked } from '../src/lib/series.js';

test('bars stack: each series is drawn on the ones below it; a gap adds nothing', () => {
  assert.deepEqual(stacked([[1, 2, null], [3, null, 4], [null, 1, 1]]), [
    [1, 2, 0],
    [4, 2, 4],
    [4, 3, 5],
  ]);
});

/** A row of `/cost` grouped by `keys`. */
const row = (keys, cost) => ({ keys, cost, calls: 1, unpriced: cost === null ? 1 : 0 });

test('cost over time: a bar per value, its costliest ones, the rest as "other"', () => {
  const rows = [
    row({ day: '2026-11-21T00:00:00Z', model: 'a' }, 1),
    row({ day: '2026-11-22T00:00:00Z', model: 'a' }, 2),
    row({ day: '2026-11-22T00:00:00Z', model: 'b' }, 5),
    row({ day: '2026-11-21T00:00:00Z', model: 'c' }, 0.5),
    row({ day: '2026-11-22T00:00:00Z', model: null }, 0.25),
    row({ day: '2026-11-21T00:00:00Z', model: 'd' }, null),
  ];
  const chart = costOverTime(rows, 'day', 'model', ['red', 'green', 'blue']);
  assert.deepEqual(chart.times, [Date.UTC(2026, 10, 21) / 1000, Date.UTC(2026, 10, 22) / 1000]);
  assert.deepEqual(
    chart.series.map((s) => [s.label, s.color, s.values, s.kind]),
    [
      ['b', 'red', [0, 5], 'bar'],
      ['a', 'green', [1, 2], 'bar'],
      ['other', 'blue', [0.5, 0.25], 'bar'],
    ],
    'c, (none) and the unpriced d summed as other',
  );
  const few = costOverTime(rows.slice(0, 3), 'day', 'model', ['red', 'green', 'blue']);
  assert.deepEqual(few.series.map((s) => s.label), ['b', 'a'], 'no "other" when every value has its bar');
  assert.equal(costLabel(null), '(none)');
  assert.equal(costLabel('gpt'), 'gpt');
});

test('a score over time: a line per group over every bucket any has, gaps as null', () => {
  const group = (key, trend) => ({ key, count: 1, mean: null, min: null, max: null, pass_rate: null, histogram: [], labels: [], trend });
  const point = (s, mean) => ({ start_unix_nano: s * 1e9, count: 1, mean });
  const groups = [group('a', [point(60, 0.5), point(180, 0.75)]), group(null, [point(120, 1), point(60, 0)]), group('c', [point(240, 1)])];
  const chart = scoreTrend(groups, ['red', 'green'], (k) => k ?? '(unknown)');
  assert.deepEqual(chart.times, [60, 120, 180], 'buckets of the groups shown only, in order');
  assert.deepEqual(chart.series, [
    { label: 'a', color: 'red', values: [0.5, null, 0.75] },
    { label: '(unknown)', color: 'green', values: [0, 1, null] },
  ]);
});

test("a tool's calls per bucket, empty buckets included, calls outside the range left out", () => {
  const minute = 60_000;
  const range = { preset: null, fromMs: 10 * minute, toMs: 14 * minute, follows: false };
  const at = (m, calls, errors) => ({ start_unix_nano: m * minute * 1e6, calls, errors, duration: { p50_ns: 0, p95_ns: 0, p99_ns: 0 } });
  const { calls, errors } = callsPerBucket([at(9, 7, 7), at(10, 3, 1), at(12, 2, 0), at(14, 4, 4), at(15, 9, 9)], range, minute);
  assert.deepEqual(calls, [3, 0, 2, 0, 4]);
  assert.deepEqual(errors, [1, 0, 0, 0, 4]);
  const unaligned = { ...range, fromMs: 10.5 * minute };
  assert.deepEqual(callsPerBucket([at(10, 1, 0)], unaligned, minute).calls, [1, 0, 0, 0, 0], 'from the bucket holding the start');
});
