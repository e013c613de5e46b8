// Which view each URL shows: the route table, matched in order. Pure (tested with node --test
// in ../../tests); main.js maps each view's name to its component.

import { match } from './url.js';

/**
 * @import { Query } from './url.js'
 * @import { Range } from './range.js'
 */

/**
 * What every view is given: its route's params, the URL's query, the time range, the path,
 * and whether the session may write (annotate).
 * @typedef {{ params: Record<string, string>, query: Query, range: Range, path: string, canWrite: boolean }} ViewProps
 */

/**
 * The views, by name.
 * @typedef {'overview' | 'search' | 'traces' | 'trace' | 'sessions' | 'session' | 'cost' | 'tools' | 'scores' | 'events' | 'guardrails' | 'slos' | 'slo' | 'alerts' | 'status' | 'settings' | 'organization' | 'people' | 'audit' | 'account'} ViewName
 */

/**
 * [pattern, title, view, shows the time range]
 * @type {[string, string, ViewName, boolean][]}
 */
export const ROUTES = [
  ['/', 'Overview', 'overview', true],
  ['/search', 'Search', 'search', true],
  ['/traces', 'Traces', 'traces', true],
  ['/traces/:id', 'Trace', 'trace', false],
  ['/traces/:id/graph', 'Agent graph', 'trace', false],
  ['/sessions', 'Sessions', 'sessions', true],
  ['/sessions/:id', 'Session', 'session', false],
  ['/cost', 'Cost', 'cost', true],
  ['/tools', 'Tools', 'tools', true],
  ['/scores', 'Scores', 'scores', true],
  ['/events', 'Events', 'events', true],
  ['/guardrails', 'Guardrails', 'guardrails', true],
  ['/slos', 'SLOs', 'slos', false],
  ['/slos/:name', 'SLO', 'slo', false],
  ['/alerts', 'Alerts', 'alerts', false],
  ['/status', 'Status', 'status', false],
  ['/settings', 'Settings', 'settings', false],
  ['/organization', 'Organization', 'organization', false],
  ['/people', 'People', 'people', false],
  ['/audit', 'Audit log', 'audit', true],
  ['/account', 'Your account', 'account', false],
];

/**
 * Whether `session` is one of the organization's admins — an owner or admin, or an
 * organization credential of scope `admin` — whom the People and Audit log views are for
 * (anyone else gets the server's refusal there, so the navigation leaves them out).
 * @param {Pick<Api.AuthSession, 'scope' | 'project'>} session
 */
export function organizationAdmin(session) {
  return session.scope === 'admin' && session.project === null;
}

/**
 * The route of `path`: its params, title, view and whether the view shows the time range;
 * null when no view is there.
 * @param {string} path
 * @returns {{ params: Record<string, string>, title: string, view: ViewName, showRange: boolean } | null}
 */
export function route(path) {
  for (const [pattern, title, view, showRange] of ROUTES) {
    const params = match(pattern, path);
    if (params) return { params, title, view, showRange };
  }
  return null;
}
