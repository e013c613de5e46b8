// Time series with uPlot: lines, areas or stacked bars over a shared time axis, sized to
// their container.

import { html, useEffect, useRef } from '../lib/html.js';
import { stacked } from '../lib/series.js';
import uPlot from '../../vendor/uplot/uPlot.esm.js';

/** @import { Series } from '../lib/series.js' */

/** @type {uPlot.Axis} */
const AXIS = { stroke: '#8b93a7', grid: { stroke: 'rgba(139,147,167,0.12)', width: 1 }, ticks: { show: false }, font: '11px system-ui, sans-serif' };

/**
 * The y axis' extent from the data's (uPlot's: null when there is none).
 * @typedef {(min: number | null, max: number | null) => [number, number]} YRange
 */

/**
 * The default y axis: from 0 to a tenth above the top.
 * @type {YRange}
 */
const fromZero = (min, max) => [0, max !== null && max > 0 ? max * 1.1 : 1];

/**
 * `times`: bucket starts in Unix seconds; `series`: `[{ label, color, values, kind }]` with
 * kind `line` (default), `area` or `bar` (bars stack). `format` turns a y value into text;
 * `yRange(min, max)` the data's extent into the y axis' (default: from 0 to a tenth above the
 * top).
 * @param {{ times: number[], series: Series[], height?: number, format?: (value: number) => string, yRange?: YRange }} props
 */
export function TimeChart({ times, series, height = 180, format = (v) => String(v), yRange = fromZero }) {
  const box = useRef(/** @type {HTMLDivElement | null} */ (null));
  const chart = useRef(/** @type {uPlot | null} */ (null));
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const bars = series.filter((s) => s.kind === 'bar');
    const stack = bars.length ? stacked(bars.map((s) => s.values)) : [];
    /** @type {[number[], ...(number | null)[][]]} */
    const data = [times, ...series.map((s) => (s.kind === 'bar' ? stack[bars.indexOf(s)] : s.values))];
    const barPaths = uPlot.paths.bars?.({ size: [0.7, 40] });
    // Bars are centred on their bucket: widen the time axis by half a bucket on each side.
    const step = times.length > 1 ? Math.min(...times.slice(1).map((t, i) => t - times[i])) : 60;
    const half = bars.length ? step / 2 : 0;
    /** @type {uPlot.Options & { series: uPlot.Series[] }} */
    const opts = {
      width: el.clientWidth || 600,
      height,
      padding: [8, 8, 0, 0],
      cursor: { points: { size: 6 }, drag: { x: false, y: false } },
      legend: { show: series.length > 1 },
      scales: {
        x: { time: true, range: (u, min, max) => [min - half, max + half] },
        y: { range: (u, min, max) => yRange(min, max) },
      },
      axes: [
        { ...AXIS, space: 60 },
        { ...AXIS, size: 64, values: (u, splits) => splits.map(format) },
      ],
      series: [
        { value: (u, t) => (t === null ? '' : new Date(t * 1000).toLocaleString()) },
        ...series.map((s) => /** @type {uPlot.Series} */ ({
          label: s.label,
          stroke: s.color,
          width: s.kind === 'bar' ? 0 : 1.75,
          fill: s.kind === 'bar' ? s.color : s.kind === 'area' ? `${s.color}33` : undefined,
          paths: s.kind === 'bar' ? barPaths : undefined,
          points: { show: false },
          value: (u, v, si, i) => (i === null || s.values[i] === null || s.values[i] === undefined ? '—' : format(s.values[i])),
        })),
      ],
    };
    // Bars stack: draw the tallest (the top of the stack) first, so each lower one shows.
    if (bars.length > 1) opts.series = [opts.series[0], ...opts.series.slice(1).reverse()];
    /** @type {uPlot.AlignedData} */
    const ordered = bars.length > 1 ? [data[0], ...data.slice(1).reverse()] : data;
    chart.current = new uPlot(opts, ordered, el);
    const resize = new ResizeObserver(() => chart.current?.setSize({ width: el.clientWidth, height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.current?.destroy();
      chart.current = null;
    };
  }, [times, series, height, yRange]);
  return html`<div class="chart" ref=${box}></div>`;
}
