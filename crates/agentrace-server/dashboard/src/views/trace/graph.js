// The agent graph: agents, the tools and models they called (a tool on an MCP server through
// its server's node) and the agents they delegated to, laid out left to right by dagre and drawn as SVG. Edges carry call counts, tokens, cost
// and failures; aggregated (one node per name, loops as cycles) or expanded (one node per
// call, numbered in order).

import { html, useMemo } from '../../lib/html.js';
import { useApi } from '../../lib/api.js';
import { setQuery } from '../../lib/router.js';
import { Empty, Pending } from '../../components/common.js';
import { callOrder, edgeLabel, layout, nodeDetail, path, shortLabel } from './graph-layout.js';

/**
 * @import { ApiState } from '../../lib/api.js'
 * @import { PlacedNode } from './graph-layout.js'
 */

/**
 * A node, numbered with its call's `order` in an expanded graph.
 * @param {{ n: PlacedNode & { order?: number }, onOpen: (n: Api.GraphNode) => void }} props
 */
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

/** @param {{ traceId: string, mode: 'aggregated' | 'expanded', onOpenSpan: (spanId: string) => void }} props */
export function AgentGraph({ traceId, mode, onOpenSpan }) {
  /** @type {ApiState<Api.Graph>} */
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
  const order = callOrder(g.edges);
  /** @param {Api.GraphNode} n */
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
