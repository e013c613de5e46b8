// The agent graph: agents, the tools and models they called (a tool on an MCP server through
// its server's node) and the agents they delegated to, laid out left to right by dagre and drawn as SVG. Edges carry call counts, tokens, cost
// and failures; aggregated (one node per name, loops as cycles) or expanded (one node per
// call, numbered in order).

import { html, useMemo } from '../../lib/html.js';
import { useApi } from '../../lib/api.js';
import { setQuery } from '../../lib/router.js';
import * as fmt from '../../lib/format.js';
import { Empty, Pending } from '../../components/common.js';
import dagre from '../../../vendor/dagre/dagre.esm.js';

const NODE_H = 62;
const LABEL_CHAR = 7.6;
const DETAIL_CHAR = 6.6;
const MAX_LABEL = 40;

const shortLabel = (label) => (label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label);

function nodeDetail(n) {
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

/** Positions for the graph's nodes and edges. */
export function layout(graph) {
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: 'LR', nodesep: 28, ranksep: 90, edgesep: 16, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) {
    const width = Math.max(shortLabel(n.label).length * LABEL_CHAR, nodeDetail(n).length * DETAIL_CHAR, 120) + 28;
    g.setNode(n.id, { width, height: NODE_H });
  }
  for (const e of graph.edges) {
    g.setEdge(e.from, e.to, { width: 92, height: 28, labelpos: 'c' });
  }
  dagre.layout(g);
  const { width, height } = g.graph();
  return {
    width,
    height,
    nodes: graph.nodes.map((n) => ({ ...n, ...g.node(n.id) })),
    edges: graph.edges.map((e) => ({ ...e, ...g.edge(e.from, e.to) })),
  };
}

function path(points) {
  return points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
}

function edgeLabel(e) {
  const parts = [`×${e.calls}`];
  const tokens = fmt.totalTokens(e.totals.usage);
  if (tokens) parts.push(`${fmt.compact(tokens)} tok`);
  if (e.totals.cost !== null && e.totals.cost !== undefined) parts.push(fmt.usd(e.totals.cost));
  return parts.join(' · ');
}

function Node({ n, onOpen }) {
  const x = n.x - n.width / 2;
  const y = n.y - n.height / 2;
  return html`<g class=${`node node-${n.kind} ${n.errors ? 'has-error' : ''}`} transform=${`translate(${x},${y})`} onClick=${() => onOpen(n)} data-node=${n.id}>
    <title>${n.label}</title>
    <rect width=${n.width} height=${n.height} rx="10" />
    <text x="14" y="17" class="node-kind">${n.kind}</text>
    ${n.order && html`<text x=${n.width - 12} y="17" class="node-order" text-anchor="end">#${n.order}</text>`}
    <text x="14" y="36" class="node-label">${shortLabel(n.label)}</text>
    <text x="14" y="53" class="node-detail">${nodeDetail(n)}</text>
  </g>`;
}

export function AgentGraph({ traceId, mode, onOpenSpan }) {
  const state = useApi(`/traces/${traceId}/graph`, { mode });
  const laid = useMemo(() => (state.data && state.data.nodes.length ? layout(state.data) : null), [state.data]);
  const toggle = html`<div class="segmented" role="group" aria-label="Graph mode">
    <button type="button" class=${mode === 'aggregated' ? 'active' : ''} aria-pressed=${mode === 'aggregated'} onClick=${() => setQuery({ mode: null })}>Aggregated</button>
    <button type="button" class=${mode === 'expanded' ? 'active' : ''} aria-pressed=${mode === 'expanded'} onClick=${() => setQuery({ mode: 'expanded' })}>Call by call</button>
  </div>`;
  if (!state.data) return html`<${Pending} state=${state} />`;
  const g = state.data;
  if (!laid) return html`<div>${toggle}<${Empty}>This trace has no agent, LLM or tool spans to draw.</${Empty}></div>`;
  // Expanded edges are numbered: show the order on the called node.
  const order = new Map(g.edges.filter((e) => e.order).map((e) => [e.to, e.order]));
  const open = (n) => {
    const span = n.span_ids?.[0];
    if (span) onOpenSpan(span);
  };
  return html`<div class="graph-view">
    <div class="graph-bar">
      ${toggle}
      <span class="muted small">${g.agents} agent ${g.agents === 1 ? 'span' : 'spans'} · ${g.nodes.length} nodes · ${g.edges.length} edges${g.agents ? '' : ' · no agent spans: calls hang off the trace root'}</span>
    </div>
    <div class="graph-canvas">
      <svg width=${laid.width} height=${laid.height} viewBox=${`0 0 ${laid.width} ${laid.height}`} role="img" aria-label="Agent graph">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" class="arrow-head" />
          </marker>
        </defs>
        ${laid.edges.map(
          (e) => html`<g class=${`edge edge-${e.kind} ${e.errors ? 'has-error' : ''}`} data-edge=${`${e.from}->${e.to}`}>
            <path d=${path(e.points)} marker-end="url(#arrow)" />
            <text x=${e.x} y=${e.y - 3} text-anchor="middle" class="edge-label">${edgeLabel(e)}</text>
            ${e.errors > 0 && html`<text x=${e.x} y=${e.y + 11} text-anchor="middle" class="edge-errors">${e.errors} failed</text>`}
          </g>`,
        )}
        ${laid.nodes.map((n) => html`<${Node} n=${{ ...n, order: order.get(n.id) }} onOpen=${open} />`)}
      </svg>
    </div>
  </div>`;
}
