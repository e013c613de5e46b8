import assert from 'node:assert/strict';
import { test } from 'node:test';

import { OPEN_ALL_UP_TO, allParents, ancestors, initialExpanded, keyMove, rowFigures, visibleRows } from '../src/views/trace/tree.js';

/** A tree as the API flattens it: depth first, children by index. */
function node(depth, parent, children) {
  return { depth, parent, children };
}
// 0 ─┬─ 1 ─── 2
//    └─ 3 ─┬─ 4
//          └─ 5
// 6 (an orphan root)
const NODES = [node(0, null, [1, 3]), node(1, 0, [2]), node(2, 1, []), node(1, 0, [4, 5]), node(2, 3, []), node(2, 3, []), node(0, null, [])];
const ROOTS = [0, 6];

test('collapsed subtrees are not listed, expanded ones in depth-first order', () => {
  assert.deepEqual(visibleRows(NODES, ROOTS, new Set()), [0, 6]);
  assert.deepEqual(visibleRows(NODES, ROOTS, new Set([0])), [0, 1, 3, 6]);
  assert.deepEqual(visibleRows(NODES, ROOTS, allParents(NODES)), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(visibleRows(NODES, ROOTS, new Set([3])), [0, 6], 'a hidden parent hides its subtree');
});

test('small traces open fully, large ones their first levels', () => {
  assert.deepEqual([...initialExpanded(NODES)].sort(), [0, 1, 3]);
  const wide = [node(0, null, Array.from({ length: OPEN_ALL_UP_TO }, (_, i) => i + 1))];
  for (let i = 1; i <= OPEN_ALL_UP_TO; i += 1) wide.push(node(1, 0, [OPEN_ALL_UP_TO + i]));
  for (let i = 1; i <= OPEN_ALL_UP_TO; i += 1) wide.push(node(2, i, []));
  const open = initialExpanded(wide);
  assert.ok(open.has(0) && open.has(1), 'levels 0 and 1 open');
  assert.equal(visibleRows(wide, [0], open).length, 1 + OPEN_ALL_UP_TO + OPEN_ALL_UP_TO);
});

test('a span deep in the tree is revealed by opening its ancestors', () => {
  assert.deepEqual(ancestors(NODES, 5), [3, 0]);
  assert.deepEqual(ancestors(NODES, 6), []);
});

test('arrow keys: down and up along the visible rows, right opens or goes in, left closes or goes up', () => {
  const open = new Set([0, 3]);
  const rows = visibleRows(NODES, ROOTS, open); // 0, 1, 3, 4, 5, 6
  const key = (k, selected) => keyMove(k, rows, NODES, selected, open);
  assert.equal(key('Enter', 1), null, 'other keys are the browser\'s');
  assert.deepEqual(key('ArrowDown', undefined), { select: 0 }, 'no selection: the first row');
  assert.deepEqual(key('ArrowLeft', 2), { select: 0 }, 'a hidden selection: the first row');
  assert.deepEqual(key('ArrowDown', 1), { select: 3 }, 'over the collapsed subtree of 1');
  assert.deepEqual(key('ArrowDown', 6), { select: 6 }, 'the last row stays');
  assert.deepEqual(key('ArrowUp', 0), { select: 0 });
  assert.deepEqual(key('ArrowUp', 4), { select: 3 });
  assert.deepEqual(key('ArrowRight', 1), { toggle: 1 }, 'opens a closed subtree');
  assert.deepEqual(key('ArrowRight', 3), { select: 4 }, 'goes into an open one');
  assert.deepEqual(key('ArrowRight', 4), {}, 'a leaf has nothing to open');
  assert.deepEqual(key('ArrowLeft', 3), { toggle: 3 }, 'closes an open subtree');
  assert.deepEqual(key('ArrowLeft', 4), { select: 3 }, 'goes up from a leaf');
  assert.deepEqual(key('ArrowLeft', 6), {}, 'a closed root has nowhere to go');
});

/** A node of the API's tree: a span with its own figures and its subtree's. */
function spanNode({ children = [], kind = 'llm', usage, cost, status = 'ok', offset = 0, duration = 100, subtree = {} }) {
  return {
    span: {
      span_id: 'a'.repeat(16),
      kind,
      name: 'chat',
      status: { code: status },
      usage,
      cost: cost === undefined ? undefined : { input: 0, cache_read: 0, cache_write: 0, output: 0, total: cost },
      request_model: 'gpt-4o',
    },
    depth: 0,
    parent: null,
    children,
    offset_ns: offset,
    duration_ns: duration,
    subtree: { spans: 1, errors: 0, cost: null, unpriced: 0, ...subtree },
  };
}

const tokens = (input, output) => ({ input_tokens: input, output_tokens: output, cache_read_tokens: 0, cache_write_tokens: 0, cache_write_1h_tokens: 0, reasoning_tokens: null });

test('a row shows a leaf\'s own figures and a parent\'s subtree, its bar within the trace', () => {
  const leaf = rowFigures(spanNode({ usage: tokens(10, 5), cost: 0.25, offset: 250, duration: 500 }), 1000);
  assert.deepEqual(leaf, { parent: false, left: 25, width: 50, isError: false, model: 'gpt-4o', tokens: 15, cost: 0.25, unpriced: 0 });
  const unpriced = rowFigures(spanNode({ usage: tokens(10, 5), status: 'error' }), 1000);
  assert.equal(unpriced.cost, null);
  assert.equal(unpriced.unpriced, 1, 'an LLM call with tokens and no price');
  assert.equal(unpriced.isError, true);
  assert.equal(rowFigures(spanNode({ kind: 'tool' }), 1000).unpriced, 0, 'a tool call has no price to miss');
  const parent = rowFigures(spanNode({ children: [1], usage: tokens(1, 1), cost: 0.01, subtree: { usage: tokens(100, 50), cost: 2, unpriced: 3 } }), 1000);
  assert.deepEqual([parent.parent, parent.tokens, parent.cost, parent.unpriced], [true, 150, 2, 3]);
  assert.equal(rowFigures(spanNode({ duration: 0 }), 1e9).width, 0.15, 'a bar is never invisible');
  assert.deepEqual([rowFigures(spanNode({}), 0).left, rowFigures(spanNode({}), 0).width], [0, 100], 'a trace of no duration');
});
