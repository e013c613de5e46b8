// Guardrails: checks against violations over the range, the violations by rule, the blocks by
// type, and the secrets and personal data masked by kind. Refreshed by the live feed.

import { html, useMemo, useState } from '../lib/html.js';
import { useApi } from '../lib/api.js';
import { changesSpans, useLiveRefresh } from '../lib/live.js';
import { apiRange, bucketFor } from '../lib/range.js';
import * as fmt from '../lib/format.js';
import { Card, Pending, Stat } from '../components/common.js';
import { TimeChart } from '../components/chart.js';
import { CountList } from '../components/bar-list.js';

/**
 * @import { ApiState } from '../lib/api.js'
 * @import { Range } from '../lib/range.js'
 * @import { Series } from '../lib/series.js'
 */

const COLORS = { checks: '#60a5fa', violations: '#f87171', detections: '#fbbf24' };

/** @param {Api.NamedCount[]} list */
const rows = (list) => list.map((c) => ({ label: c.name, count: c.count }));

/** @param {{ range: Range }} props */
export function Guardrails({ range }) {
  const [tick, setTick] = useState(0);
  const bucket = bucketFor(range);
  useLiveRefresh({}, () => setTick((n) => n + 1), { everyMs: 5000, when: (m) => changesSpans(m) || m.type === 'events' });
  /** @type {ApiState<Api.Guardrails>} */
  const state = useApi('/guardrails', { ...apiRange(range), bucket }, tick);
  const g = state.data;
  const chart = useMemo(() => {
    if (!g) return null;
    /** @param {(point: Api.Guardrails['series'][number]) => number} f */
    const pick = (f) => g.series.map(f);
    /** @type {{ times: number[], series: Series[] }} */
    const lines = {
      times: pick((p) => p.start_unix_nano / 1e9),
      series: [
        { label: 'checks', color: COLORS.checks, values: pick((p) => p.checks), kind: 'bar' },
        { label: 'violations', color: COLORS.violations, values: pick((p) => p.violations), kind: 'bar' },
        { label: 'masked', color: COLORS.detections, values: pick((p) => p.detections), kind: 'line' },
      ],
    };
    return lines;
  }, [g]);
  if (!g || !chart) return html`<${Pending} state=${state} />`;
  const rate = g.checks ? g.violations / g.checks : null;
  return html`<div class="view guardrails">
    <div class="stats">
      <${Stat} label="Checks" value=${fmt.count(g.checks)} detail="guardrail spans" />
      <${Stat} label="Violations" value=${fmt.count(g.violations)} tone=${g.violations ? 'bad' : 'good'} detail=${rate === null ? 'failed checks and safety events' : `${fmt.percent(rate)} of checks (with safety events)`} />
      <${Stat} label="Masked" value=${fmt.count(g.detections)} tone=${g.detections ? 'warn' : ''} detail="secrets and personal data" />
    </div>
    <${Card} title=${`Checks and violations (per ${bucket})`}>
      ${g.series.length
        ? html`<${TimeChart} times=${chart.times} series=${chart.series} format=${fmt.compact} />`
        : html`<div class="empty">No guardrail check, violation or masked value in this range.</div>`}
    </${Card}>
    <div class="grid three">
      <${Card} title="Violations by rule"><${CountList} rows=${rows(g.violations_by_rule)} empty="No violation in this range." /></${Card}>
      <${Card} title="Blocks by type"><${CountList} rows=${rows(g.blocks_by_type)} empty="No blocked check in this range." /></${Card}>
      <${Card} title="Masked by kind"><${CountList} rows=${rows(g.detections_by_type)} empty="Nothing masked in this range." /></${Card}>
    </div>
  </div>`;
}
