// The agent graph's geometry: the text of each node and edge, node sizes from their text,
// positions from dagre (left to right), edges as SVG paths. No DOM of its own (tested with
// node --test in ../../../tests); graph.js draws it.

import * as fmt from '../../lib/format.js';
import dagre from '../../../vendor/dagre/dagre.esm.js';

/** @import { EdgeLabel, Graph, GraphLabel, NodeLabel, Point } from '../../../vendor/dagre/dagre.esm.js' */

/**
 * A node placed: its centre (`x`, `y`) and size.
 * @typedef {Api.GraphNode & { x: number, y: number, width: number, height: number }} PlacedNode
 */

/**
 * An edge placed: its path's points and its label's centre.
 * @typedef {Api.GraphEdge & { points: Point[], x: number, y: number }} PlacedEdge
 */

export const NODE_H = 62;
const LABEL_CHAR = 7.6;
const DETAIL_CHAR = 6.6;
export const MAX_LABEL = 40;

/**
 * A node's label, cut to `MAX_LABEL` characters.
 * @param {string} label
 */
export const shortLabel = (label) => (label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label);

/**
 * A node's figures in a line: calls, failures, cost (when priced), duration.
 * @param {Api.GraphNode} n
 */
export function nodeDetail(n) {
  const cost = n.totals.cost;
  return [
    `${n.calls} ${n.calls === 1 ? 'call' : 'calls'}`,
    n.errors ? `${n.errors} failed` : null,
    cost !== null && cost !== undefined ? fmt.usd(cost) : null,
    fmt.duration(n.duration_ns),
  ]
    .filter(Boolean)
    .join(' · ');
}

/**
 * A node's width: its label's or its figures', whichever is longer, at least 120 px, padded.
 * @param {Api.GraphNode} n
 */
export function nodeWidth(n) {
  return Math.max(shortLabel(n.label).length * LABEL_CHAR, nodeDetail(n).length * DETAIL_CHAR, 120) + 28;
}

/**
 * Positions for the graph's nodes and edges.
 * @param {{ nodes: Api.GraphNode[], edges: Api.GraphEdge[] }} graph
 * @returns {{ width: number, height: number, nodes: PlacedNode[], edges: PlacedEdge[] }}
 */
export function layout(graph) {
  /** @type {Graph<GraphLabel, NodeLabel, EdgeLabel>} */
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: 'LR', nodesep: 28, ranksep: 90, edgesep: 16, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) {
    g.setNode(n.id, { width: nodeWidth(n), height: NODE_H });
  }
  for (const e of graph.edges) {
    g.setEdge(e.from, e.to, { width: 92, height: 28, labelpos: 'c' });
  }
  dagre.layout(g);
  // After the layout every node has its x and y, every edge its points, x and y.
  const { width, height } = /** @type {{ width: number, height: number }} */ (g.graph());
  return {
    width,
    height,
    nodes: graph.nodes.map((n) => /** @type {PlacedNode} */ ({ ...n, ...g.node(n.id) })),
    edges: graph.edges.map((e) => /** @type {PlacedEdge} */ ({ ...e, ...g.edge(e.from, e.to) })),
  };
}

/**
 * An SVG path through `points`.
 * @param {Point[]} points
 */
export function path(points) {
  return points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
}

/**
 * An edge's label: its calls, tokens and cost (when known).
 * @param {Api.GraphEdge} e
 */
export function edgeLabel(e) {
  const parts = [`×${e.calls}`];
  const tokens = fmt.totalTokens(e.totals.usage);
  if (tokens) parts.push(`${fmt.compact(tokens)} tok`);
  if (e.totals.cost !== null && e.totals.cost !== undefined) parts.push(fmt.usd(e.totals.cost));
  return parts.join(' · ');
}

/**
 * The number of each call (expanded graphs number their edges): by the called node.
 * @param {Api.GraphEdge[]} edges
 * @returns {Map<string, number>}
 */
export function callOrder(edges) {
  return new Map(edges.flatMap((e) => (e.order ? [/** @type {[string, number]} */ ([e.to, e.order])] : [])));
}
