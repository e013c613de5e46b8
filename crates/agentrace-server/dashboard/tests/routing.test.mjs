// node --test: which view each URL shows, and the URLs the dashboard writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ROUTES, organizationAdmin, route } from '../src/lib/routes.js';
import { match, nextPath, withQuery } from '../src/lib/url.js';

test('a query leaves out empty keys and writes the rest as text', () => {
  assert.equal(withQuery('/traces', {}), '/traces');
  assert.equal(withQuery('/traces', { agent: 'support', model: null, user: undefined, name: '' }), '/traces?agent=support');
  assert.equal(withQuery('/traces', { limit: 50, open: true, zero: 0 }), '/traces?limit=50&open=true&zero=0');
  assert.equal(withQuery('/cost', { group_by: 'model,day', model: 'a b&c' }), '/cost?group_by=model%2Cday&model=a+b%26c');
});

test('patterns match whole paths and decode their params', () => {
  assert.deepEqual(match('/', '/'), {});
  assert.deepEqual(match('/traces/:id', '/traces/abc'), { id: 'abc' });
  assert.deepEqual(match('/sessions/:id', '/sessions/a%2Fb%20c'), { id: 'a/b c' });
  assert.equal(match('/traces/:id', '/traces'), null, 'a param is not optional');
  assert.equal(match('/traces/:id', '/traces/'), null, 'nor empty');
  assert.equal(match('/traces', '/traces/abc'), null);
  assert.equal(match('/traces/:id/graph', '/traces/abc/tree'), null);
});

test('a param that is not percent-encoding matches nothing instead of throwing', () => {
  assert.equal(match('/sessions/:id', '/sessions/100%'), null);
  assert.equal(match('/sessions/:id', '/sessions/%E0%A4%A'), null);
  assert.equal(route('/sessions/100%'), null);
});

test('every view has its URL, the first pattern that matches wins', () => {
  const cases = [
    ['/', 'overview', 'Overview', true, {}],
    ['/traces', 'traces', 'Traces', true, {}],
    ['/traces/0af7651916cd43dd8448eb211c80319c', 'trace', 'Trace', false, { id: '0af7651916cd43dd8448eb211c80319c' }],
    ['/traces/0af7/graph', 'trace', 'Agent graph', false, { id: '0af7' }],
    ['/search', 'search', 'Search', true, {}],
    ['/sessions', 'sessions', 'Sessions', true, {}],
    ['/sessions/chat%201', 'session', 'Session', false, { id: 'chat 1' }],
    ['/cost', 'cost', 'Cost', true, {}],
    ['/tools', 'tools', 'Tools', true, {}],
    ['/scores', 'scores', 'Scores', true, {}],
    ['/events', 'events', 'Events', true, {}],
    ['/guardrails', 'guardrails', 'Guardrails', true, {}],
    ['/slos', 'slos', 'SLOs', false, {}],
    ['/slos/runs%20succeed', 'slo', 'SLO', false, { name: 'runs succeed' }],
    ['/alerts', 'alerts', 'Alerts', false, {}],
    ['/status', 'status', 'Status', false, {}],
    ['/settings', 'settings', 'Settings', false, {}],
    ['/organization', 'organization', 'Organization', false, {}],
  ];
  for (const [path, view, title, showRange, params] of cases) {
    assert.deepEqual(route(path), { params, title, view, showRange }, path);
  }
  assert.equal(new Set(ROUTES.map(([pattern]) => pattern)).size, ROUTES.length, 'no pattern twice');
});

test('no view at an unknown path', () => {
  for (const path of ['/nope', '/traces/a/b', '/login', '/overview', '/slos/']) assert.equal(route(path), null, path);
});

test('after the login: a path of this origin, else the overview', () => {
  const origin = 'http://127.0.0.1:4319';
  assert.equal(nextPath('/traces?agent=a', origin), '/traces?agent=a');
  assert.equal(nextPath('/', origin), '/');
  assert.equal(nextPath(undefined, origin), '/');
  assert.equal(nextPath('', origin), '/');
  assert.equal(nextPath('https://evil.example/', origin), '/');
  assert.equal(nextPath('//evil.example/', origin), '/');
  assert.equal(nextPath('/\\evil.example/', origin), '/', 'the URL parser reads a backslash as a slash');
  assert.equal(nextPath('/\t/evil.example/', origin), '/', 'and drops tabs');
});

test("the organization's admins are an owner or admin, or an organization credential of scope admin", () => {
  assert.equal(organizationAdmin({ scope: 'admin', project: null }), true, 'an owner, an admin, the API token, an open server');
  assert.equal(organizationAdmin({ scope: 'admin', project: 3 }), false, "a project's admin key");
  assert.equal(organizationAdmin({ scope: 'write', project: null }), false, 'a member');
  assert.equal(organizationAdmin({ scope: 'read', project: null }), false, 'a viewer, the read token');
  assert.equal(organizationAdmin({ scope: null, project: null }), false, 'nobody signed in');
});
