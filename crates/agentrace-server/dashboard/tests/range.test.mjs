import assert from 'node:assert/strict';
import { test } from 'node:test';

import { apiRange, bucketFor, rangeLabel, rangeOf, rangeQuery } from '../src/lib/range.js';

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

test('a preset follows now and asks the server for a relative range', () => {
  const r = rangeOf({ range: '24h' }, NOW);
  assert.deepEqual(r, { preset: '24h', fromMs: NOW - 86_400_000, toMs: NOW, follows: true });
  assert.deepEqual(apiRange(r), { from: '-24h' });
  assert.equal(rangeLabel(r), 'Last 24 hours');
  assert.deepEqual(rangeQuery(r), { range: '24h', from: null, to: null });
});

test('no range, or a bad one, is the last hour', () => {
  assert.equal(rangeOf({}, NOW).preset, '1h');
  assert.equal(rangeOf({ range: '3y' }, NOW).preset, '1h');
  assert.equal(rangeOf({ from: '10', to: '5' }, NOW).preset, '1h', 'from after to');
  assert.equal(rangeOf({ from: 'x', to: '5' }, NOW).preset, '1h');
});

test('a fixed window stays fixed and is sent in nanoseconds', () => {
  const r = rangeOf({ from: String(NOW - 1000), to: String(NOW) }, NOW + 99_999);
  assert.equal(r.follows, false);
  assert.deepEqual(apiRange(r), { from: String((NOW - 1000) * 1e6), to: String(NOW * 1e6) });
  assert.deepEqual(rangeQuery(r), { range: null, from: String(NOW - 1000), to: String(NOW) });
  assert.match(rangeLabel(r), /→/);
});

test('buckets keep a series near 60 points', () => {
  assert.equal(bucketFor(rangeOf({ range: '15m' }, NOW)), '1m');
  assert.equal(bucketFor(rangeOf({ range: '1h' }, NOW)), '1m');
  assert.equal(bucketFor(rangeOf({ range: '6h' }, NOW)), '15m');
  assert.equal(bucketFor(rangeOf({ range: '24h' }, NOW)), '1h');
  assert.equal(bucketFor(rangeOf({ range: '7d' }, NOW)), '6h');
  assert.equal(bucketFor(rangeOf({ range: '30d' }, NOW)), '1d');
});
