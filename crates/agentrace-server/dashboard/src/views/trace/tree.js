// The trace tree as the timeline shows it: which nodes are visible given the expanded ones,
// and which to expand at first. Pure functions over the API's flattened tree (nodes depth
// first, each with `children` indexes), tested in ../../../tests.

/** Traces up to this many spans open fully; larger ones open their first levels only. */
export const OPEN_ALL_UP_TO = 1000;
/** Levels opened at first in a larger trace. */
export const OPEN_DEPTH = 2;

/** The nodes expanded when a trace is opened. */
export function initialExpanded(nodes) {
  const open = new Set();
  nodes.forEach((n, i) => {
    if (n.children.length && (nodes.length <= OPEN_ALL_UP_TO || n.depth < OPEN_DEPTH)) open.add(i);
  });
  return open;
}

/**
 * The visible rows, in order: every root, and the children of expanded visible nodes. A
 * collapsed subtree costs nothing, however large.
 */
export function visibleRows(nodes, roots, expanded) {
  const rows = [];
  const stack = [...roots].reverse();
  while (stack.length) {
    const i = stack.pop();
    rows.push(i);
    if (expanded.has(i)) {
      const children = nodes[i].children;
      for (let c = children.length - 1; c >= 0; c -= 1) stack.push(children[c]);
    }
  }
  return rows;
}

/** The nodes to expand so that node `i` is visible: its ancestors. */
export function ancestors(nodes, i) {
  const out = [];
  for (let p = nodes[i]?.parent; p !== null && p !== undefined; p = nodes[p].parent) out.push(p);
  return out;
}

/** Every node with children (expand all). */
export function allParents(nodes) {
  return new Set(nodes.flatMap((n, i) => (n.children.length ? [i] : [])));
}
