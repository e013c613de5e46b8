// Alerts: every alert's state (firing first), the channels that carry them and whether they
// deliver, the rules, and the latest notifications. Refreshed when the live feed brings
// notifications, and every 10 seconds for the channels' figures.

import { html, useEffect, useState } from '../lib/html.js';
import { useApi } from '../lib/api.js';
import { useActive, useLiveRefresh } from '../lib/live.js';
import * as fmt from '../lib/format.js';
import { Card, Empty, Pending, Stat } from '../components/common.js';
import { AlertStateBadge } from '../components/badges.js';

/** @import { ApiState } from '../lib/api.js' */

const FIRING = new Set(['ALERT', 'WARNING', 'NO_DATA']);

/**
 * A rule's thresholds in words: "≥ 5.0 % warning, ≥ 20.0 % critical" (σ for anomalies).
 * @param {Api.AlertRule} rule
 */
function thresholds(rule) {
  const side = (rule.direction ?? (rule.measure === 'tool_success_rate' ? 'below' : 'above')) === 'below' ? '≤' : '≥';
  /** @param {number} v */
  const unit = (v) => {
    if (rule.anomaly) return `${v}σ`;
    if (rule.measure === 'error_rate' || rule.measure === 'tool_success_rate') return fmt.percent(v);
    if (rule.measure.startsWith('latency_')) return `${v} s`;
    if (rule.measure === 'cost') return `$${v}`;
    return fmt.count(v);
  };
  return [
    rule.warning !== null && `${side} ${unit(rule.warning)} warning`,
    rule.critical !== null && `${side} ${unit(rule.critical)} critical`,
  ].filter(Boolean).join(', ') || `no data: ${rule.no_data}`;
}

/**
 * What a rule watches: its scope, and what it judges each of.
 * @param {Api.AlertRule} rule
 */
function scope(rule) {
  const parts = Object.entries(rule.scope).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${v}`);
  if (rule.per) parts.push(`per ${rule.per}`);
  return parts.join(' · ') || 'everything';
}

/** @param {{ alerts: Api.AlertNotification[] }} props */
function Alerts({ alerts }) {
  if (!alerts.length) return html`<${Empty}>No alert has been judged yet: rules are evaluated every interval.</${Empty}>`;
  return html`<table class="table alerts-table">
    <thead><tr><th>State</th><th>Alert</th><th>Summary</th><th class="num">Since</th></tr></thead>
    <tbody>
      ${alerts.map(
        (a) => html`<tr class=${FIRING.has(a.state) ? 'firing' : ''}>
          <td><${AlertStateBadge} state=${a.state} /></td>
          <th scope="row">${a.alert}${a.description && html`<span class="sub">${a.description}</span>`}</th>
          <td>${a.summary}</td>
          <td class="num" title=${fmt.dateTime(a.since_unix_nano)}>${fmt.ago(a.since_unix_nano)}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

/** @param {{ channels: Api.AlertChannel[] }} props */
function Channels({ channels }) {
  return html`<table class="table compact">
    <thead><tr><th>Channel</th><th>Kind</th><th class="num">Delivered</th><th class="num">Failed</th><th class="num">Retries</th><th class="num">Dropped</th><th>Status</th></tr></thead>
    <tbody>
      ${channels.map(
        (c) => html`<tr>
          <th scope="row">${c.name}</th>
          <td>${c.kind}</td>
          <td class="num">${fmt.count(c.delivered)}</td>
          <td class=${`num ${c.failed ? 'error-text' : ''}`}>${fmt.count(c.failed)}</td>
          <td class="num">${fmt.count(c.retries)}</td>
          <td class=${`num ${c.dropped ? 'error-text' : ''}`}>${fmt.count(c.dropped)}</td>
          <td>${c.failing
            ? html`<span class="error-text" title=${c.last_error ?? ''}>failing: ${c.last_error}</span>`
            : html`<span class="ok-text">delivering</span>${c.last_delivered_unix_nano ? html`<span class="sub">last ${fmt.ago(c.last_delivered_unix_nano)}</span>` : ''}`}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

/** @param {{ rules: Api.AlertRule[] }} props */
function Rules({ rules }) {
  if (!rules.length) return html`<${Empty}>No rules: start the server with an alerts file (<code>--alerts</code>; see docs/alerts.md). Budget thresholds still alert.</${Empty}>`;
  return html`<table class="table compact">
    <thead><tr><th>Rule</th><th>Measure</th><th>Of</th><th>Window</th><th>Thresholds</th></tr></thead>
    <tbody>
      ${rules.map(
        (r) => html`<tr>
          <th scope="row">${r.name}</th>
          <td>${r.measure}${r.anomaly && html`<span class="sub">against ${r.anomaly.baseline === 'rolling' ? `the ${r.anomaly.periods} windows before` : `the same time, past ${r.anomaly.days} days`}</span>`}</td>
          <td>${scope(r)}</td>
          <td>${r.window}${r.min_requests ? html`<span class="sub">at least ${fmt.count(r.min_requests)} requests</span>` : ''}</td>
          <td>${thresholds(r)}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

/** @param {{ history: Api.AlertNotification[] }} props */
function History({ history }) {
  if (!history.length) return html`<${Empty}>No notification yet.</${Empty}>`;
  return html`<ol class="alert-history">
    ${history.map(
      (n) => html`<li>
        <time datetime=${new Date(n.time_unix_nano / 1e6).toISOString()} title=${fmt.dateTime(n.time_unix_nano)}>${fmt.timeOfDay(n.time_unix_nano)}</time>
        <span class="transition"><${AlertStateBadge} state=${n.previous} /> → <${AlertStateBadge} state=${n.state} /></span>
        <span class="alert-summary">${n.summary}${n.reason === 'reminder' ? html` <span class="muted">(reminder)</span>` : ''}</span>
      </li>`,
    )}
  </ol>`;
}

export function AlertsView() {
  const [tick, setTick] = useState(0);
  const active = useActive();
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(() => setTick((n) => n + 1), 10000);
    return () => clearInterval(timer);
  }, [active]);
  useLiveRefresh({}, () => setTick((n) => n + 1), { everyMs: 1000, when: (m) => m.type === 'alerts' });
  /** @type {ApiState<Api.Alerts>} */
  const state = useApi('/alerts', { limit: 50 }, tick);
  const a = state.data;
  if (!a) return html`<${Pending} state=${state} />`;
  const firing = a.alerts.filter((x) => x.state === 'ALERT').length;
  const warning = a.alerts.filter((x) => x.state === 'WARNING').length;
  const noData = a.alerts.filter((x) => x.state === 'NO_DATA').length;
  const failing = a.channels.filter((c) => c.failing).length;
  return html`<div class="view alerts">
    <div class="stats">
      <${Stat} label="Alerting" value=${fmt.count(firing)} tone=${firing ? 'bad' : 'good'} detail=${`${fmt.count(a.alerts.length)} alerts judged`} />
      <${Stat} label="Warning" value=${fmt.count(warning)} tone=${warning ? 'warn' : ''} detail=${`${fmt.count(noData)} without data`} />
      <${Stat} label="Rules" value=${fmt.count(a.rules.length)} detail=${a.interval_seconds ? `evaluated every ${a.interval_seconds} s` : 'not evaluated'} />
      <${Stat} label="Channels" value=${fmt.count(a.channels.length)} tone=${failing ? 'bad' : ''} detail=${failing ? `${failing} failing` : 'all delivering'} />
    </div>
    <${Card} title="Alerts"><${Alerts} alerts=${a.alerts} /></${Card}>
    <div class="grid two">
      <${Card} title="Latest notifications"><${History} history=${a.history} /></${Card}>
      <div>
        <${Card} title="Channels"><${Channels} channels=${a.channels} /></${Card}>
        <${Card} title="Rules"><${Rules} rules=${a.rules} /></${Card}>
      </div>
    </div>
  </div>`;
}
