// The trace tree as the timeline shows it: which nodes are visible given the expanded ones,
// which to expand at first, where the arrow keys go, what each row shows. Pure functions over
// the API's flattened tree (nodes depth first, each with `children` indexes), tested in
// ../../../tests.

import * as fmt from '../../lib/format.js';

/**
 * What the tree's shape needs of a node (`Api.TraceNode` has more).
 * @typedef {Pick<Api.TraceNode, 'depth' | 'parent' | 'children'>} TreeNode
 */

/** Traces up to this many spans open fully; larger ones open their first levels only. */
export const OPEN_ALL_UP_TO = 1000;
/** Levels opened at first in a larger trace. */
export const OPEN_DEPTH = 2;

/**
 * The nodes expanded when a trace is opened.
 * @param {TreeNode[]} nodes
 * @returns {Set<number>}
 */
export function initialExpanded(nodes) {
  /** @type {Set<number>} */
  const open = new Set();
  nodes.forEach((n, i) => {
    if (n.children.length && (nodes.length <= OPEN_ALL_UP_TO || n.depth < OPEN_DEPTH)) open.add(i);
  });
  return open;
}

/**
 * The visible rows, in order: every root, and the children of expanded visible nodes. A
 * collapsed subtree costs nothing, however large.
 * @param {TreeNode[]} nodes
 * @param {number[]} roots
 * @param {Set<number>} expanded
 * @returns {number[]} node indexes
 */
export function visibleRows(nodes, roots, expanded) {
  const rows = [];
  const stack = [...roots].reverse();
  while (stack.length) {
    const i = /** @type {number} */ (stack.pop());
    rows.push(i);
    if (expanded.has(i)) {
      const children = nodes[i].children;
      for (let c = children.length - 1; c >= 0; c -= 1) stack.push(children[c]);
    }
  }
  return rows;
}

/**
 * The nodes to expand so that node `i` is visible: its ancestors.
 * @param {TreeNode[]} nodes
 * @param {number} i
 * @returns {number[]}
 */
export function ancestors(nodes, i) {
  const out = [];
  for (let p = nodes[i]?.parent; p !== null && p !== undefined; p = nodes[p].parent) out.push(p);
  return out;
}

/**
 * Every node with children (expand all).
 * @param {TreeNode[]} nodes
 * @returns {Set<number>}
 */
export function allParents(nodes) {
  return new Set(nodes.flatMap((n, i) => (n.children.length ? [i] : [])));
}

/**
 * What a row shows: a parent its subtree's totals (Σ), a leaf its own; a call without a price
 * counts as unpriced; the bar's offset and width as percentages of the trace (`total` ns, at
 * least 0.15 % wide).
 * @param {Api.TraceNode} node
 * @param {number} total the trace's duration
 */
export function rowFigures(node, total) {
  const s = node.span;
  const own = { tokens: fmt.totalTokens(s.usage), cost: s.cost?.total ?? null };
  const parent = node.children.length > 0;
  const sub = node.subtree;
  const left = total ? (node.offset_ns / total) * 100 : 0;
  const width = total ? Math.max((node.duration_ns / total) * 100, 0.15) : 100;
  const isError = s.status?.code === 'error';
  const model = s.response_model ?? s.request_model;
  const tokens = parent ? fmt.totalTokens(sub.usage) : own.tokens;
  const cost = parent ? sub.cost : own.cost;
  const unpriced = parent ? sub.unpriced : Number(s.kind === 'llm' && own.cost === null && own.tokens > 0);
  return { parent, left, width, isError, model, tokens, cost, unpriced };
}

/**
 * What an arrow key does in the tree: down and up move the selection along the visible rows,
 * right opens a span's subtree (or goes into it), left closes it (or goes up to the parent);
 * without a selection, any of them selects the first row. Null for other keys (left to the
 * browser); an empty move for an arrow that leads nowhere.
 * @param {string} key `KeyboardEvent.key`
 * @param {number[]} rows the visible rows (`visibleRows`)
 * @param {TreeNode[]} nodes
 * @param {number | undefined} selected
 * @param {Set<number>} expanded
 * @returns {{ select?: number, toggle?: number } | null}
 */
export function keyMove(key, rows, nodes, selected, expanded) {
  if (!['ArrowDown', 'ArrowUp', 'ArrowRight', 'ArrowLeft'].includes(key)) return null;
  const at = selected === undefined ? -1 : rows.indexOf(selected);
  if (at < 0 || selected === undefined) return { select: rows[0] };
  const node = nodes[selected];
  switch (key) {
    case 'ArrowDown':
      return { select: rows[Math.min(rows.length - 1, at + 1)] };
    case 'ArrowUp':
      return { select: rows[Math.max(0, at - 1)] };
    case 'ArrowRight':
      if (!node?.children.length) return {};
      return expanded.has(selected) ? { select: node.children[0] } : { toggle: selected };
    default:
      if (expanded.has(selected)) return { toggle: selected };
      return node && node.parent !== null ? { select: node.parent } : {};
  }
}
