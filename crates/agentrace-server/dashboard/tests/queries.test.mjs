// node --test: what the lists ask the API, from the filters in their URL.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  TRACE_FILTERS,
  attributeKey,
  costGroups,
  costQuery,
  eventsQuery,
  searchQuery,
  spanHref,
  toggleCompared,
  tracesQuery,
  tracesSort,
  tracesSortQuery,
  toolsQuery,
} from '../src/lib/queries.js';
import { rangeOf } from '../src/lib/range.js';

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const LAST_HOUR = rangeOf({}, NOW);
const WINDOW = rangeOf({ from: String(NOW - 60_000), to: String(NOW) }, NOW);

test('a search asks for its query in the range, and a hit opens its span with the query', () => {
  assert.deepEqual(searchQuery({ q: 'kind:tool timeout', status: 'error' }, LAST_HOUR), { q: 'kind:tool timeout', from: '-1h', limit: 50 });
  assert.deepEqual(searchQuery({}, WINDOW), { q: '', from: String((NOW - 60_000) * 1e6), to: String(NOW * 1e6), limit: 50 });
  assert.equal(spanHref('ab12', 'cd34', 'a "b" & c'), '/traces/ab12?span=cd34&q=a+%22b%22+%26+c');
  assert.equal(spanHref('ab12', 'cd34', ''), '/traces/ab12?span=cd34');
});

test('the trace list with a query of the filter syntax asks no order', () => {
  assert.deepEqual(tracesQuery({ q: 'timeout', sort: 'cost', order: 'asc', agent: 'a' }, LAST_HOUR), { from: '-1h', limit: 50, q: 'timeout', agent: 'a' });
});

test('the trace list passes its filters on, and nothing else of the URL', () => {
  assert.deepEqual(tracesQuery({}, LAST_HOUR), { from: '-1h', limit: 50 });
  const query = Object.fromEntries(TRACE_FILTERS.map((f) => [f, `${f}-value`]));
  const q = tracesQuery({ ...query, span: 'abc', range: '1h', compare: 'x' }, WINDOW);
  assert.deepEqual(q, { ...query, from: String((NOW - 60_000) * 1e6), to: String(NOW * 1e6), limit: 50 });
  assert.deepEqual(tracesQuery({ agent: '', model: 'm' }, LAST_HOUR), { from: '-1h', limit: 50, model: 'm' }, 'an empty filter is no filter');
});

test('score bounds and the order by score only with a score', () => {
  const bounds = { score_min: '0.2', score_max: '0.8' };
  assert.deepEqual(tracesQuery({ ...bounds, sort: 'score' }, LAST_HOUR), { from: '-1h', limit: 50 });
  assert.deepEqual(tracesQuery({ ...bounds, score: 'helpful', sort: 'score', order: 'asc' }, LAST_HOUR), {
    from: '-1h',
    limit: 50,
    score: 'helpful',
    ...bounds,
    sort: 'score',
    order: 'asc',
  });
  assert.equal(tracesQuery({ sort: 'cost' }, LAST_HOUR).sort, 'cost');
});

test('a header sorts descending, then ascending; by start (newest first) is the default', () => {
  const byStart = tracesSort({}, tracesQuery({}, LAST_HOUR));
  assert.deepEqual(byStart, { key: 'start', ascending: false });
  assert.deepEqual(tracesSortQuery(byStart, 'cost'), { sort: 'cost', order: null });
  assert.deepEqual(tracesSortQuery(byStart, 'start'), { sort: null, order: 'asc' });
  const byCost = tracesSort({ sort: 'cost' }, tracesQuery({ sort: 'cost' }, LAST_HOUR));
  assert.deepEqual(byCost, { key: 'cost', ascending: false });
  assert.deepEqual(tracesSortQuery(byCost, 'cost'), { sort: 'cost', order: 'asc' });
  const ascending = tracesSort({ sort: 'cost', order: 'asc' }, tracesQuery({ sort: 'cost', order: 'asc' }, LAST_HOUR));
  assert.deepEqual(tracesSortQuery(ascending, 'cost'), { sort: 'cost', order: null }, 'a third click: descending again');
  assert.deepEqual(tracesSortQuery(ascending, 'spans'), { sort: 'spans', order: null });
});

test('the event list passes its filters on', () => {
  assert.deepEqual(eventsQuery({ level: 'ERROR', text: 'timeout', kind: 'llm', span: 'x' }, LAST_HOUR), {
    from: '-1h',
    limit: 100,
    level: 'ERROR',
    text: 'timeout',
  });
});

test('cost groups by at most two known dimensions, the model by default', () => {
  assert.deepEqual(costGroups({}), ['model']);
  assert.deepEqual(costGroups({ group_by: 'agent,day' }), ['agent', 'day']);
  assert.deepEqual(costGroups({ group_by: 'agent,bogus,day,user' }), ['agent', 'day']);
  assert.deepEqual(costGroups({ group_by: 'bogus' }), ['model']);
  assert.deepEqual(costGroups({ group_by: '' }), ['model']);
  assert.deepEqual(costGroups({ group_by: 'attr:customer.id,day' }), ['attr:customer.id', 'day']);
  assert.deepEqual(costGroups({ group_by: 'attr:customer id,agent' }), ['agent'], 'a key the API refuses is dropped');
  assert.deepEqual(costQuery({ agent: 'a', span: 'x', user: '' }, LAST_HOUR, ['model', 'day']), {
    from: '-1h',
    group_by: 'model,day',
    agent: 'a',
  });
});

test('two groups are compared at most; a third ticked replaces the earliest', () => {
  assert.deepEqual(toggleCompared([], 'a'), ['a']);
  assert.deepEqual(toggleCompared(['a'], 'b'), ['a', 'b']);
  assert.deepEqual(toggleCompared(['a', 'b'], 'c'), ['b', 'c']);
  assert.deepEqual(toggleCompared(['a', 'b'], 'a'), ['b']);
});

test('an attribute dimension names a key the API takes, and splits the tools view', () => {
  assert.equal(attributeKey('attr:customer.id'), 'customer.id');
  assert.equal(attributeKey('attr:k8s.pod/name:1'), 'k8s.pod/name:1');
  assert.equal(attributeKey('attr:'), null);
  assert.equal(attributeKey('attr:<script>'), null);
  assert.equal(attributeKey(`attr:${'k'.repeat(65)}`), null);
  assert.equal(attributeKey('model'), null);
  assert.equal(attributeKey(undefined), null);
  assert.deepEqual(toolsQuery({ group_by: 'attr:customer.id' }, LAST_HOUR, '1m'), {
    from: '-1h',
    top: 3,
    bucket: '1m',
    group_by: 'attr:customer.id',
  });
  assert.deepEqual(toolsQuery({ group_by: 'model' }, LAST_HOUR, '1m'), { from: '-1h', top: 3, bucket: '1m' });
});
