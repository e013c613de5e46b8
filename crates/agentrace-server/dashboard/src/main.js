// The dashboard: which view each URL shows, and the login when the server wants a token.

import { html, render, useEffect, useState } from './lib/html.js';
import { navigate, useRoute, withQuery } from './lib/router.js';
import { get, onUnauthorized, post } from './lib/api.js';
import { rangeOf } from './lib/range.js';
import { route } from './lib/routes.js';
import { nextPath } from './lib/url.js';
import { Layout } from './components/layout.js';
import { ErrorBox, Loading } from './components/common.js';
import { Overview } from './views/overview.js';
import { Traces } from './views/traces.js';
import { Search } from './views/search.js';
import { Trace } from './views/trace/trace.js';
import { Sessions } from './views/sessions.js';
import { Session } from './views/session.js';
import { Cost } from './views/cost.js';
import { Tools } from './views/tools.js';
import { People } from './views/people.js';
import { Audit } from './views/audit.js';
import { Account } from './views/account.js';
import { Events } from './views/events.js';
import { AlertsView } from './views/alerts.js';
import { SloPage, Slos } from './views/slos.js';
import { Guardrails } from './views/guardrails.js';
import { Status } from './views/status.js';
import { Scores } from './views/scores.js';
import { ProjectSettings } from './views/settings.js';
import { Organization } from './views/organization.js';
import { Invitation, Login } from './views/login.js';

/**
 * @import { ApiError } from './lib/api.js'
 * @import { ViewName, ViewProps } from './lib/routes.js'
 */

/**
 * Each view's component (routes.js says which URL shows which); each takes what it needs of
 * the `ViewProps`.
 * @type {Record<ViewName, (props: ViewProps) => unknown>}
 */
const VIEWS = {
  overview: Overview,
  traces: Traces,
  trace: Trace,
  sessions: Sessions,
  session: Session,
  cost: Cost,
  tools: Tools,
  scores: Scores,
  events: Events,
  search: Search,
  guardrails: Guardrails,
  slos: Slos,
  slo: SloPage,
  alerts: AlertsView,
  status: Status,
  settings: ProjectSettings,
  organization: Organization,
  people: People,
  audit: Audit,
  account: Account,
};

/** @param {{ path: string }} props */
function NotFound({ path }) {
  return html`<div class="empty">No view at <code>${path}</code>. <a href="/">Go to the overview</a>.</div>`;
}

/**
 * Sets the document's title.
 * @param {{ text: string }} props
 */
function Title({ text }) {
  useEffect(() => {
    document.title = text;
  }, [text]);
  return null;
}

function App() {
  const { path, query } = useRoute();
  const [session, setSession] = useState(/** @type {Api.AuthSession | null} */ (null));
  const [failure, setFailure] = useState(/** @type {ApiError | null} */ (null));
  const check = () =>
    /** @type {Promise<Api.AuthSession>} */ (get('/auth/session')).then(setSession, (e) => setFailure(e));
  useEffect(() => {
    check();
    return onUnauthorized(() => setSession((s) => ({ ...(s ?? { token_required: true, can_write: false, scope: null, project: null, person: null, password_login: false, sso: null }), authenticated: false })));
  }, []);

  if (failure) return html`<div class="boot"><${ErrorBox} error=${failure} /></div>`;
  if (!session) return html`<div class="boot"><${Loading} /></div>`;
  if (path === '/invitation') return html`<${Invitation} onJoined=${check} />`;
  if (!session.authenticated || path === '/login') {
    if (session.authenticated) {
      navigate(nextPath(query.next, location.origin), { replace: true });
      return null;
    }
    if (path !== '/login') {
      navigate(withQuery('/login', { next: location.pathname + location.search }), { replace: true });
      return null;
    }
    return html`<${Login} session=${session} onLogin=${check} />`;
  }

  const logout = () => post('/auth/logout').finally(() => {
    setSession({ ...session, authenticated: false });
    navigate('/login');
  });
  const found = route(path);
  const View = found && VIEWS[found.view];
  const range = rangeOf(query);
  const title = found?.title ?? 'Not found';
  return html`<${Title} text=${`${title} · agentrace`} />
  <${Layout} path=${path} range=${range} title=${title} showRange=${found?.showRange ?? false} session=${session} onLogout=${logout}>
    ${found && View ? html`<${View} key=${View.name} params=${found.params} query=${query} range=${range} path=${path} canWrite=${session.can_write} />` : html`<${NotFound} path=${path} />`}
  </${Layout}>`;
}

const root = /** @type {HTMLElement} */ (document.getElementById('app'));
root.textContent = '';
render(html`<${App} />`, root);
