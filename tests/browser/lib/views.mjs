// Every view of the dashboard: its URL (given a trace, a session and an SLO to show; the SLO
// views only with an SLO) and what is on screen once it has loaded. The screenshots, the tests and the benchmark walk this list.

export function views({ traceId, spanId, sessionId, sloName }) {
  return [
    { name: 'overview', path: '/', ready: '[data-stat="LLM calls"]' },
    { name: 'traces', path: '/traces', ready: 'table tbody tr[data-key]' },
    { name: 'search', path: '/search?q=kind%3Atool%20(timeout%20OR%20failed)', ready: '.search-summary' },
    { name: 'trace', path: `/traces/${traceId}${spanId ? `?span=${spanId}` : ''}`, ready: spanId ? '.detail .detail-section' : '.timeline .row' },
    { name: 'agent-graph', path: `/traces/${traceId}/graph`, ready: 'svg .node' },
    { name: 'sessions', path: '/sessions', ready: 'table tbody tr[data-key]' },
    { name: 'session', path: `/sessions/${encodeURIComponent(sessionId)}`, ready: '.thread .turn' },
    { name: 'cost', path: '/cost?group_by=model,hour&range=24h', ready: '.total-line' },
    { name: 'tools', path: '/tools', ready: '.tools-table tbody tr' },
    { name: 'scores', path: '/scores?range=24h&split=model', ready: '.score-groups tbody tr' },
    { name: 'events', path: '/events', ready: 'table tbody tr[data-key], .view.events .empty' },
    { name: 'status', path: '/status', ready: '[data-stat="Spans stored"]' },
    { name: 'guardrails', path: '/guardrails', ready: '[data-stat="Checks"]' },
    { name: 'alerts', path: '/alerts', ready: '.alerts-table tbody tr' },
    { name: 'settings', path: '/settings', ready: '.settings-view [data-kind="retention"]' },
    { name: 'organization', path: '/organization', ready: '.projects-table tr[data-project="default"]' },
    { name: 'people', path: '/people', ready: '.people-view .invite-form' },
    { name: 'audit', path: '/audit', ready: '.audit-table tbody tr, .audit-view .empty' },
    { name: 'account', path: '/account', ready: '.account-view .password-form' },
    ...(sloName
      ? [
        { name: 'slos', path: '/slos', ready: '.slos-table tbody tr' },
        { name: 'slo', path: `/slos/${encodeURIComponent(sloName)}`, ready: '.slo .chart canvas' },
      ]
      : []),
  ];
}
