// The span tree beside its waterfall: one row per visible span (name, kind, model, tokens,
// cost, status, and totals over the subtree), its bar at its offset and duration within the
// trace. Rows are virtualized: only those on screen exist, so a 10,000-span trace scrolls as
// lightly as a ten-span one; collapsed subtrees are not even listed.

import { html, useEffect, useLayoutEffect, useMemo, useRef, useState } from '../../lib/html.js';
import * as fmt from '../../lib/format.js';
import { KindBadge } from '../../components/badges.js';
import { keyMove, rowFigures, visibleRows } from './tree.js';

const ROW = 30;
const OVERSCAN = 12;

/** @param {{ total: number }} props the trace's duration */
function Ticks({ total }) {
  return html`<div class="ticks">
    ${[0, 0.25, 0.5, 0.75, 1].map((f) => html`<span style=${{ left: `${f * 100}%` }}>${fmt.duration(total * f)}</span>`)}
  </div>`;
}

/**
 * @param {{
 *   node: Api.TraceNode,
 *   index: number,
 *   expanded: boolean,
 *   onToggle: (index: number) => void,
 *   selected: boolean,
 *   onSelect: (index: number) => void,
 *   total: number,
 * }} props
 */
function Row({ node, index, expanded, onToggle, selected, onSelect, total }) {
  const s = node.span;
  const sub = node.subtree;
  const { parent, left, width, isError, model, tokens, cost, unpriced } = rowFigures(node, total);
  return html`<div
    class=${`row ${selected ? 'selected' : ''} ${isError ? 'error' : ''}`}
    role="treeitem"
    aria-level=${node.depth + 1}
    aria-expanded=${parent ? expanded : undefined}
    aria-selected=${selected}
    data-span=${s.span_id}
    onClick=${() => onSelect(index)}
  >
    <div class="cell tree-cell" style=${{ paddingLeft: `${node.depth * 16 + 6}px` }}>
      ${parent
        ? html`<button type="button" class="toggle" aria-label=${expanded ? 'Collapse' : 'Expand'} onClick=${(/** @type {MouseEvent} */ e) => {
            e.stopPropagation();
            onToggle(index);
          }}>${expanded ? '▾' : '▸'}</button>`
        : html`<span class="toggle-space"></span>`}
      <${KindBadge} kind=${s.kind} />
      <span class="span-name" title=${s.name}>${s.name}</span>
      ${model && s.kind !== 'agent' && !s.name.includes(model) && html`<span class="model">${model}</span>`}
      ${node.orphan && html`<span class="badge warn" title="Its parent span was never received">orphan</span>`}
      ${node.reattached && html`<span class="badge info" title="Re-attached by the server to the span containing it; the emitter did not report this parent">re-attached</span>`}
      ${isError && html`<span class="badge status-error" title=${s.status.message ?? ''}>error</span>`}
      ${parent && !expanded && html`<span class="muted small">${fmt.count(sub.spans - 1)} below${sub.errors ? ` · ${sub.errors} failed` : ''}</span>`}
      ${parent && expanded && sub.errors > Number(isError) && html`<span class="badge warn" title="Failed spans beneath this one">${sub.errors - Number(isError)} failed</span>`}
    </div>
    <div class="cell num" title=${parent ? `subtree: ${fmt.count(tokens)} tokens` : ''}>${tokens ? `${parent ? 'Σ ' : ''}${fmt.compact(tokens)}` : ''}</div>
    <div class="cell num" title=${parent ? 'subtree total' : ''}>${cost !== null || unpriced ? `${parent ? 'Σ ' : ''}${fmt.usdWithUnpriced(cost, unpriced)}` : ''}</div>
    <div class="cell bar-cell">
      <div class=${`span-bar kind-${s.kind}`} style=${{ left: `${left}%`, width: `${width}%` }}></div>
      <span class="span-bar-label" style=${left + width > 78 ? { right: `${100 - left}%` } : { left: `${left + width}%` }}>${fmt.duration(node.duration_ns)}</span>
    </div>
  </div>`;
}

/**
 * @param {{
 *   tree: Api.TraceTree,
 *   expanded: Set<number>,
 *   setExpanded: (expanded: Set<number>) => void,
 *   selected: number | undefined,
 *   onSelect: (index: number) => void,
 * }} props
 */
export function Timeline({ tree, expanded, setExpanded, selected, onSelect }) {
  const { nodes, roots } = tree;
  const rows = useMemo(() => visibleRows(nodes, roots, expanded), [nodes, roots, expanded]);
  const total = tree.summary.duration_ns;
  const box = useRef(/** @type {HTMLDivElement | null} */ (null));
  const [view, setView] = useState({ top: 0, height: 600 });
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const update = () => setView({ top: el.scrollTop, height: el.clientHeight });
    update();
    const resize = new ResizeObserver(update);
    resize.observe(el);
    el.addEventListener('scroll', update, { passive: true });
    return () => {
      resize.disconnect();
      el.removeEventListener('scroll', update);
    };
  }, []);
  // Bring the selected span into view (after a deep link or a click in the graph).
  useEffect(() => {
    const at = selected === undefined ? -1 : rows.indexOf(selected);
    const el = box.current;
    if (at < 0 || !el) return;
    const y = at * ROW;
    if (y < el.scrollTop || y > el.scrollTop + el.clientHeight - ROW) el.scrollTop = Math.max(0, y - el.clientHeight / 3);
  }, [selected, rows.length]);
  const first = Math.max(0, Math.floor(view.top / ROW) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((view.top + view.height) / ROW) + OVERSCAN);
  /** @param {number} i */
  const toggle = (i) => {
    const next = new Set(expanded);
    if (next.has(i)) next.delete(i);
    else next.add(i);
    setExpanded(next);
  };
  // Keys: up and down move the selection, right opens a span's subtree (or goes into it),
  // left closes it (or goes up to the parent).
  /** @param {KeyboardEvent} event */
  const onKeyDown = (event) => {
    const move = keyMove(event.key, rows, nodes, selected, expanded);
    if (!move) return;
    event.preventDefault();
    if (move.select !== undefined) onSelect(move.select);
    if (move.toggle !== undefined) toggle(move.toggle);
  };
  return html`<div class="timeline" role="tree" aria-label="Spans">
    <div class="timeline-head">
      <div class="cell tree-cell">Span</div>
      <div class="cell num">Tokens</div>
      <div class="cell num">Cost</div>
      <div class="cell bar-cell"><${Ticks} total=${total} /></div>
    </div>
    <div class="timeline-body" ref=${box} tabindex="0" onKeyDown=${onKeyDown} aria-label="Spans: arrow keys move and open">
      <div class="rows" style=${{ height: `${rows.length * ROW}px` }}>
        <div class="window" style=${{ transform: `translateY(${first * ROW}px)` }}>
          ${rows.slice(first, last).map(
            (i) => html`<${Row}
              key=${i}
              node=${nodes[i]}
              index=${i}
              expanded=${expanded.has(i)}
              onToggle=${toggle}
              selected=${selected === i}
              onSelect=${onSelect}
              total=${total}
            />`,
          )}
        </div>
      </div>
    </div>
    <div class="timeline-foot muted small">${fmt.count(rows.length)} of ${fmt.count(nodes.length)} spans shown</div>
  </div>`;
}
