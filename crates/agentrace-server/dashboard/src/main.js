// The dashboard: which view each URL shows, and the login when the server wants a token.

import { html, render, useEffect, useState } from './lib/html.js';
import { match, navigate, useRoute, withQuery } from './lib/router.js';
import { get, onUnauthorized, post } from './lib/api.js';
import { rangeOf } from './lib/range.js';
import { Layout } from './components/layout.js';
import { ErrorBox, Loading } from './components/common.js';
import { Overview } from './views/overview.js';
import { Traces } from './views/traces.js';
import { Trace } from './views/trace/trace.js';
import { Sessions } from './views/sessions.js';
import { Session } from './views/session.js';
import { Cost } from './views/cost.js';
import { Tools } from './views/tools.js';
import { Events } from './views/events.js';
import { AlertsView } from './views/alerts.js';
import { SloPage, Slos } from './views/slos.js';
import { Guardrails } from './views/guardrails.js';
import { Status } from './views/status.js';
import { Scores } from './views/scores.js';
import { Login } from './views/login.js';

/** [pattern, title, view, shows the time range] */
const ROUTES = [
  ['/', 'Overview', Overview, true],
  ['/traces', 'Traces', Traces, true],
  ['/traces/:id', 'Trace', Trace, false],
  ['/traces/:id/graph', 'Agent graph', Trace, false],
  ['/sessions', 'Sessions', Sessions, true],
  ['/sessions/:id', 'Session', Session, false],
  ['/cost', 'Cost', Cost, true],
  ['/tools', 'Tools', Tools, true],
  ['/scores', 'Scores', Scores, true],
  ['/events', 'Events', Events, true],
  ['/guardrails', 'Guardrails', Guardrails, true],
  ['/slos', 'SLOs', Slos, false],
  ['/slos/:name', 'SLO', SloPage, false],
  ['/alerts', 'Alerts', AlertsView, false],
  ['/status', 'Status', Status, false],
];

function NotFound({ path }) {
  return html`<div class="empty">No view at <code>${path}</code>. <a href="/">Go to the overview</a>.</div>`;
}

/** Sets the document's title. */
function Title({ text }) {
  useEffect(() => {
    document.title = text;
  }, [text]);
  return null;
}

function App() {
  const { path, query } = useRoute();
  const [session, setSession] = useState(null);
  const [failure, setFailure] = useState(null);
  const check = () =>
    get('/auth/session').then(setSession, (e) => setFailure(e));
  useEffect(() => {
    check();
    return onUnauthorized(() => setSession((s) => ({ ...(s ?? { token_required: true }), authenticated: false })));
  }, []);

  if (failure) return html`<div class="boot"><${ErrorBox} error=${failure} /></div>`;
  if (!session) return html`<div class="boot"><${Loading} /></div>`;
  if (!session.authenticated || path === '/login') {
    if (session.authenticated) {
      navigate(query.next && query.next.startsWith('/') && !query.next.startsWith('//') ? query.next : '/', { replace: true });
      return null;
    }
    if (path !== '/login') {
      navigate(withQuery('/login', { next: location.pathname + location.search }), { replace: true });
      return null;
    }
    return html`<${Login} onLogin=${check} />`;
  }

  const logout = () => post('/auth/logout').finally(() => {
    setSession({ ...session, authenticated: false });
    navigate('/login');
  });
  const found = ROUTES.map(([pattern, title, view, showRange]) => ({ params: match(pattern, path), title, view, showRange })).find((r) => r.params);
  const range = rangeOf(query);
  const title = found?.title ?? 'Not found';
  return html`<${Title} text=${`${title} · agentrace`} />
  <${Layout} path=${path} range=${range} title=${title} showRange=${found?.showRange ?? false} session=${session} onLogout=${logout}>
    ${found ? html`<${found.view} key=${found.view.name} params=${found.params} query=${query} range=${range} path=${path} canWrite=${session.can_write} />` : html`<${NotFound} path=${path} />`}
  </${Layout}>`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
