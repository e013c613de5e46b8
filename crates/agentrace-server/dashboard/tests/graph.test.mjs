// node --test: the agent graph's layout (dagre) and text, without drawing it.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MAX_LABEL, NODE_H, callOrder, edgeLabel, layout, nodeDetail, nodeWidth, path, shortLabel } from '../src/views/trace/graph-layout.js';

const usage = (input, output) => ({ input_tokens: input, output_tokens: output, cache_read_tokens: 0, cache_write_tokens: 0, cache_write_1h_tokens: 0, reasoning_tokens: null });
const totals = (cost, tokens = [0, 0]) => ({ spans: 1, errors: 0, usage: usage(...tokens), cost, unpriced: 0 });
const node = (id, kind, label, extra = {}) => ({ id, kind, label, calls: 1, errors: 0, duration_ns: 2e9, totals: totals(null), span_ids: [`${id}0000000000000000`.slice(0, 16)], ...extra });
const edge = (from, to, kind, extra = {}) => ({ from, to, kind, calls: 1, errors: 0, totals: totals(null), ...extra });

// planner → researcher → search (tool), planner → gpt (model), researcher → gpt
const GRAPH = {
  nodes: [
    node('planner', 'agent', 'planner'),
    node('researcher', 'agent', 'researcher'),
    node('search', 'tool', 'web_search'),
    node('gpt', 'model', 'gpt-4o'),
  ],
  edges: [
    edge('planner', 'researcher', 'delegates'),
    edge('researcher', 'search', 'calls_tool', { calls: 3, errors: 1 }),
    edge('planner', 'gpt', 'calls_model', { calls: 2, totals: totals(0.0123, [1000, 250]) }),
    edge('researcher', 'gpt', 'calls_model'),
  ],
};

test('every node and edge is placed, left to right along the calls, within the drawing', () => {
  const laid = layout(GRAPH);
  const at = new Map(laid.nodes.map((n) => [n.id, n]));
  assert.equal(laid.nodes.length, 4);
  assert.equal(laid.edges.length, 4);
  for (const n of laid.nodes) {
    assert.ok(Number.isFinite(n.x) && Number.isFinite(n.y), n.id);
    assert.equal(n.height, NODE_H);
    assert.equal(n.width, nodeWidth(n));
    assert.ok(n.x - n.width / 2 >= 0 && n.x + n.width / 2 <= laid.width, `${n.id} inside the width`);
    assert.ok(n.y - n.height / 2 >= 0 && n.y + n.height / 2 <= laid.height, `${n.id} inside the height`);
  }
  for (const e of laid.edges) {
    assert.ok(at.get(e.from).x < at.get(e.to).x, `${e.from} left of ${e.to}`);
    assert.ok(e.points.length >= 2, 'a path');
    assert.ok(Number.isFinite(e.x) && Number.isFinite(e.y), 'a label position');
    assert.ok(e.calls >= 1 && e.kind, 'the API fields kept');
  }
  assert.equal(at.get('search').label, 'web_search', 'the API fields kept');
});

test('an empty graph lays out to nothing', () => {
  const laid = layout({ nodes: [], edges: [] });
  assert.deepEqual([laid.nodes, laid.edges], [[], []]);
});

test('nodes are as wide as their text', () => {
  const short = node('a', 'agent', 'a');
  const long = node('b', 'agent', 'x'.repeat(80));
  assert.equal(nodeWidth(short), 148, 'at least 120 px, padded');
  assert.ok(nodeWidth(long) > nodeWidth(short));
  assert.equal(nodeWidth(long), nodeWidth(node('c', 'agent', 'y'.repeat(MAX_LABEL))), 'labels are cut');
  assert.equal(shortLabel('x'.repeat(MAX_LABEL)), 'x'.repeat(MAX_LABEL));
  assert.equal(shortLabel('x'.repeat(MAX_LABEL + 1)), `${'x'.repeat(MAX_LABEL - 1)}…`);
});

test('the text of nodes and edges: calls, failures, tokens, cost when priced', () => {
  assert.equal(nodeDetail(node('a', 'agent', 'a')), '1 call · 2.00s');
  assert.equal(nodeDetail(node('a', 'tool', 'a', { calls: 4, errors: 2, totals: totals(0.5) })), '4 calls · 2 failed · $0.500 · 2.00s');
  assert.equal(edgeLabel(GRAPH.edges[0]), '×1');
  assert.equal(edgeLabel(GRAPH.edges[2]), '×2 · 1.25k tok · $0.0123');
  assert.equal(path([{ x: 1, y: 2 }, { x: 3.14159, y: 4 }]), 'M1.0,2.0 L3.1,4.0');
});

test('an expanded graph numbers each call on the node it calls', () => {
  const order = callOrder([edge('a', 'b', 'calls_tool', { order: 1 }), edge('a', 'c', 'calls_model', { order: 2 }), edge('a', 'd', 'delegates')]);
  assert.deepEqual([...order], [['b', 1], ['c', 2]]);
});
