// Status: the pipeline's health — what was accepted, stored, dropped and refused, the writer
// and its queue, retention, repairs, the fan-out sinks, the store and, when several nodes share
// it, the fleet. Refreshed every 5 seconds while the page is visible.

import { html, useEffect, useState } from '../lib/html.js';
import { useApi } from '../lib/api.js';
import { useActive } from '../lib/live.js';
import * as fmt from '../lib/format.js';
import { Card, Facts, Pending, Stat } from '../components/common.js';

/** @import { ApiState } from '../lib/api.js' */

/**
 * `/status` as the organization's admins get it: the server's counters, with the figures this
 * view reads of the parts the OpenAPI document leaves open (`requests`, `writer`, `retention`,
 * `repairs`: `StatsSnapshot` in the server's telemetry/stats.rs) and `fleet`.
 * @typedef {Api.Status & {
 *   started_unix_nano: number,
 *   spans: Api.SignalStats, events: Api.SignalStats, measurements: Api.SignalStats,
 *   requests: { received: number, invalid: number, unauthorized: number, forbidden: number, overloaded: number, failed: number },
 *   writer: {
 *     alive: boolean, queued_requests: number, queued_records: number, queue_capacity_requests: number,
 *     queue_capacity_records: number, commits: number, errors: number, processor_panics: number,
 *     last_commit_unix_nano: number | null, last_error: string | null,
 *   },
 *   retention: {
 *     runs: number, spans_deleted: number, events_deleted: number, metrics_deleted: number,
 *     last_run_unix_nano: number | null, last_error: string | null,
 *   },
 *   repairs: {
 *     tracked: number, orphans_marked: number, orphans_cleared: number, reattached: number,
 *     attributed_late: number, awaiting_parent: number, aggregates_marked: number, mcp_calls_completed: number,
 *   },
 *   fleet: NonNullable<Api.Status['fleet']>,
 * }} StatusFigures
 */

/** @param {{ name: string, s: Api.SignalStats }} props */
function Signal({ name, s }) {
  return html`<tr>
    <th scope="row">${name}</th>
    <td class="num">${fmt.count(s.accepted)}</td>
    <td class="num">${fmt.count(s.stored)}</td>
    <td class="num">${fmt.count(s.duplicates)}</td>
    <td class=${`num ${s.rejected ? 'warn-text' : ''}`}>${fmt.count(s.rejected)}</td>
    <td class=${`num ${s.dropped ? 'error-text' : ''}`}>${fmt.count(s.dropped)}</td>
  </tr>`;
}

/** @param {{ store: Api.Status['store'] }} props */
function StoreStat({ store }) {
  if (store.error) {
    return html`<${Stat} label="Store" value="not answering" tone="bad" detail=${store.error} title=${store.location} />`;
  }
  return html`<${Stat} label="Store" value=${fmt.bytes(store.file_bytes)} detail=${`schema v${store.schema_version}`} title=${store.location} />`;
}

/**
 * This node among the nodes sharing its store; nothing for a store of its own.
 * @param {{ fleet: StatusFigures['fleet'] }} props
 */
function Fleet({ fleet }) {
  if (!fleet.node) return null;
  return html`<${Card} title="Fleet">
    <${Facts} items=${[
      ['This node', fleet.node],
      ['Nodes alive', fmt.count(fleet.nodes)],
      ['Role', fleet.leader ? 'leader (evaluates alerts, sends budget notifications)' : 'follower'],
      ["Other nodes' records read", fmt.count(fleet.arrivals)],
      ['Failed heartbeats', fmt.count(fleet.beat_errors)],
    ]} />
  </${Card}>`;
}

/**
 * Whether the answer holds the server's counters (the caller speaks for the organization).
 * @param {Api.Status} st
 * @returns {st is StatusFigures}
 */
const hasCounters = (st) => st.writer != null;

export function Status() {
  const [tick, setTick] = useState(0);
  const active = useActive();
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(() => setTick((n) => n + 1), 5000);
    return () => clearInterval(timer);
  }, [active]);
  /** @type {ApiState<Api.Status>} */
  const state = useApi('/status', {}, tick);
  const st = state.data;
  if (!st) return html`<${Pending} state=${state} />`;
  if (!hasCounters(st)) return html`<${ProjectStatus} st=${st} />`;
  const w = st.writer;
  const r = st.requests;
  const queueRatio = w.queue_capacity_records ? w.queued_records / w.queue_capacity_records : 0;
  return html`<div class="view status">
    <div class="stats">
      <${Stat} label="Writer" value=${w.alive ? 'running' : 'stopped'} tone=${w.alive ? 'good' : 'bad'} detail=${`${fmt.count(w.commits)} commits · last ${w.last_commit_unix_nano ? fmt.ago(w.last_commit_unix_nano) : 'never'}`} />
      <${Stat} label="Queue" value=${`${fmt.count(w.queued_records)} / ${fmt.count(w.queue_capacity_records)}`} tone=${queueRatio > 0.8 ? 'warn' : ''} detail=${`${fmt.count(w.queued_requests)} of ${fmt.count(w.queue_capacity_requests)} requests waiting`} />
      <${Stat} label="Spans stored" value=${fmt.count(st.spans.stored)} detail=${`${fmt.count(st.spans.duplicates)} duplicates · ${fmt.count(st.spans.dropped)} dropped`} />
      <${StoreStat} store=${st.store} />
      <${Stat} label="Up since" value=${fmt.ago(st.started_unix_nano)} detail=${fmt.dateTime(st.started_unix_nano)} />
    </div>
    <div class="grid two">
      <${Card} title="Records">
        <table class="table compact">
          <thead><tr><th></th><th class="num">Accepted</th><th class="num">Stored</th><th class="num">Duplicates</th><th class="num">Rejected</th><th class="num">Dropped</th></tr></thead>
          <tbody>
            <${Signal} name="Spans" s=${st.spans} />
            <${Signal} name="Events" s=${st.events} />
            <${Signal} name="Metric points" s=${st.measurements} />
          </tbody>
        </table>
      </${Card}>
      <${Card} title="Requests">
        <${Facts} items=${[
          ['Received', fmt.count(r.received)],
          ['Invalid (4xx)', fmt.count(r.invalid)],
          ['Unauthorized', fmt.count(r.unauthorized)],
          ['Forbidden (host or origin)', fmt.count(r.forbidden)],
          ['Overloaded (retryable)', fmt.count(r.overloaded)],
          ['Failed', fmt.count(r.failed)],
        ]} />
      </${Card}>
      <${Card} title="Writer">
        <${Facts} items=${[
          ['Commits', fmt.count(w.commits)],
          ['Write errors', fmt.count(w.errors)],
          ['Processor panics', fmt.count(w.processor_panics)],
          ['Last error', w.last_error ?? 'none'],
        ]} />
      </${Card}>
      <${Card} title="Retention and repairs">
        <${Facts} items=${[
          ['Retention runs', fmt.count(st.retention.runs)],
          ['Spans deleted', fmt.count(st.retention.spans_deleted)],
          ['Events deleted', fmt.count(st.retention.events_deleted)],
          ['Metric rows deleted', fmt.count(st.retention.metrics_deleted)],
          ['Last run', st.retention.last_run_unix_nano ? fmt.ago(st.retention.last_run_unix_nano) : 'not yet'],
          ['Retention error', st.retention.last_error ?? 'none'],
          ['Traces watched for repair', fmt.count(st.repairs.tracked)],
          ['Orphans marked / cleared', `${fmt.count(st.repairs.orphans_marked)} / ${fmt.count(st.repairs.orphans_cleared)}`],
          ['Roots re-attached', fmt.count(st.repairs.reattached)],
          ['Spans attributed late / awaiting their parent', `${fmt.count(st.repairs.attributed_late)} / ${fmt.count(st.repairs.awaiting_parent)}`],
          ['Aggregate calls marked', fmt.count(st.repairs.aggregates_marked)],
          ['MCP calls completed by their server', fmt.count(st.repairs.mcp_calls_completed)],
        ]} />
      </${Card}>
      <${Fleet} fleet=${st.fleet} />
    </div>
    <${Sinks} title="Fan-out sinks (/metrics, forwarding)" stats=${st.pipeline} />
    <${Sinks} title="This project's forwarding" stats=${st.forwarding} />
    <${Redaction} capture=${st.capture} />
  </div>`;
}

/**
 * What the project's own redaction did; nothing when it masks as the server does.
 * @param {{ capture: Api.Status['capture'] }} props
 */
function Redaction({ capture }) {
  if (!capture) return null;
  const kinds = Object.entries(capture.detections).map(([kind, n]) => `${kind} ${fmt.count(n)}`);
  return html`<${Card} title="This project's redaction">
    <${Facts} items=${[
      ['Values masked', fmt.count(capture.values_redacted)],
      ['Content removed', fmt.count(capture.content_removed)],
      ['Detected', kinds.length ? kinds.join(' · ') : 'nothing'],
    ]} />
  </${Card}>`;
}

/**
 * What a caller of one project sees: its store and forwarder. The server's counters count
 * every project's traffic, so the server shows them to the organization's admins only.
 * @param {{ st: Api.Status }} props
 */
function ProjectStatus({ st }) {
  return html`<div class="view status">
    <div class="stats"><${StoreStat} store=${st.store} /></div>
    <p class="muted server-counters-note">The server's counters (requests, queue, commits, repairs) count every project's traffic: the organization's admins see them here.</p>
    <${Sinks} title="This project's forwarding" stats=${st.forwarding} />
    <${Redaction} capture=${st.capture} />
  </div>`;
}

/**
 * A pipeline's sinks: what each accepted, exported, dropped and failed. Nothing without one.
 * @param {{ title: string, stats: Api.Status['pipeline'] }} props
 */
function Sinks({ title, stats }) {
  return (
    stats &&
    html`<${Card} title=${title}>
      <table class="table compact">
        <thead><tr><th>Sink</th><th class="num">Accepted</th><th class="num">Exported</th><th class="num">Dropped</th><th class="num">Failed</th><th class="num">Retries</th><th>Last error</th></tr></thead>
        <tbody>
          ${(stats.sinks ?? []).map(
            (k) => html`<tr>
              <th scope="row">${k.name}</th>
              <td class="num">${fmt.count(k.accepted)}</td>
              <td class="num">${fmt.count(k.exported)}</td>
              <td class=${`num ${k.dropped ? 'error-text' : ''}`}>${fmt.count(k.dropped)}</td>
              <td class=${`num ${k.failed ? 'error-text' : ''}`}>${fmt.count(k.failed)}</td>
              <td class="num">${fmt.count(k.retries)}</td>
              <td>${k.last_error ?? html`<span class="muted">none</span>`}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </${Card}>`
  );
}
