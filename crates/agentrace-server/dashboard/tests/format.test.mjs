// node --test: the dashboard's pure modules (no browser needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as fmt from '../src/lib/format.js';

test('money is exact enough to read and unknown is never $0', () => {
  assert.equal(fmt.usd(null), 'unpriced');
  assert.equal(fmt.usd(undefined), 'unpriced');
  assert.equal(fmt.usd(0), '$0');
  assert.equal(fmt.usd(1234.5), '$1,235');
  assert.equal(fmt.usd(12.345), '$12.35');
  assert.equal(fmt.usd(0.8333), '$0.833');
  assert.equal(fmt.usd(0.0123456), '$0.0123');
  assert.equal(fmt.usd(0.00000451), '$0.00000451');
  assert.equal(fmt.usdWithUnpriced(1.5, 0), '$1.50');
  assert.equal(fmt.usdWithUnpriced(1.5, 3), '$1.50 + 3 unpriced');
  assert.equal(fmt.usdWithUnpriced(null, 2), 'unpriced (2)');
});

test('durations, counts and bytes', () => {
  assert.equal(fmt.duration(850), '850ns');
  assert.equal(fmt.duration(850_000), '850µs');
  assert.equal(fmt.duration(1_234_567), '1.23ms');
  assert.equal(fmt.duration(123_000_000), '123ms');
  assert.equal(fmt.duration(4_560_000_000), '4.56s');
  assert.equal(fmt.duration(125e9), '2m 05s');
  assert.equal(fmt.duration(3_720e9), '1h 02m');
  assert.equal(fmt.duration(null), '—');
  assert.equal(fmt.count(1234567), '1,234,567');
  assert.equal(fmt.compact(950), '950');
  assert.equal(fmt.compact(1_200), '1.2k');
  assert.equal(fmt.compact(16_100_000), '16.1M');
  assert.equal(fmt.compact(2_000), '2k');
  assert.equal(fmt.percent(0.0123), '1.2%');
  assert.equal(fmt.bytes(1536), '1.5 KiB');
  assert.equal(fmt.totalTokens({ input_tokens: 10, output_tokens: 5, cache_read_tokens: 4 }), 15);
});

test('ago counts back from now', () => {
  const now = Date.UTC(2026, 10, 22, 12, 0, 0);
  assert.equal(fmt.ago((now - 5_000) * 1e6, now), '5s ago');
  assert.equal(fmt.ago((now - 300_000) * 1e6, now), '5m ago');
  assert.equal(fmt.ago((now - 7_200_000) * 1e6, now), '2h ago');
  assert.equal(fmt.ago((now - 3 * 86_400_000) * 1e6, now), '3d ago');
});

test('score numbers keep at most three decimals', () => {
  assert.equal(fmt.scoreNumber(0.5), '0.5');
  assert.equal(fmt.scoreNumber(0.83333), '0.833');
  assert.equal(fmt.scoreNumber(12), '12');
  assert.equal(fmt.scoreNumber(null), '—');
});
