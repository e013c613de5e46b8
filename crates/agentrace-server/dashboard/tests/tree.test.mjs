import assert from 'node:assert/strict';
import { test } from 'node:test';

import { OPEN_ALL_UP_TO, allParents, ancestors, initialExpanded, visibleRows } from '../src/views/trace/tree.js';

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
