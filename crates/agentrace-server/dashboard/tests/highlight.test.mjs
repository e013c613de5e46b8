// node --test: a search's words marked in a span's text.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { highlight } from '../src/lib/highlight.js';

test('every occurrence of every word is marked, whatever its case', () => {
  assert.deepEqual(highlight('Gateway TIMEOUT, timeout again', ['timeout', 'gate']), [
    { text: 'Gate', match: true },
    { text: 'way ', match: false },
    { text: 'TIMEOUT', match: true },
    { text: ', ', match: false },
    { text: 'timeout', match: true },
    { text: ' again', match: false },
  ]);
});

test('overlapping words mark the longer once; nothing to mark leaves the text whole', () => {
  assert.deepEqual(highlight('rate limited', ['rate limit', 'limit']), [
    { text: 'rate limit', match: true },
    { text: 'ed', match: false },
  ]);
  assert.deepEqual(highlight('<img onerror=x>', []), [{ text: '<img onerror=x>', match: false }]);
  assert.deepEqual(highlight('', ['a']), [{ text: '', match: false }]);
  // İ lower-cases to two code units: no mark rather than a misplaced one.
  assert.deepEqual(highlight('İstanbul timeout', ['timeout']), [{ text: 'İstanbul timeout', match: false }]);
});
