// The frame around every view: navigation, the time range, the live/paused control.

import { html, useEffect, useState } from '../lib/html.js';
import { useApi } from '../lib/api.js';
import { PROJECT_PARAM, currentProject, onProjectsChanged, shownProject } from '../lib/project.js';
import { currentQuery, navigate, withQuery } from '../lib/router.js';
import { organizationAdmin } from '../lib/routes.js';
import { Icon } from './icons.js';
import { RangePicker } from './range-picker.js';
import { setPaused, useConnectionState, useLive, usePaused } from '../lib/live.js';
import * as fmt from '../lib/format.js';

/**
 * @import { ComponentChildren } from 'preact'
 * @import { Range } from '../lib/range.js'
 * @import { ApiState } from '../lib/api.js'
 */

/** @type {[string, string, string, ('admins' | undefined)?][]} [href, label, icon, for the organization's admins only] */
const NAV = [
  ['/', 'Overview', 'overview'],
  ['/search', 'Search', 'search'],
  ['/traces', 'Traces', 'traces'],
  ['/sessions', 'Sessions', 'sessions'],
  ['/cost', 'Cost', 'cost'],
  ['/tools', 'Tools', 'tools'],
  ['/scores', 'Scores', 'scores'],
  ['/events', 'Events', 'events'],
  ['/guardrails', 'Guardrails', 'guardrails'],
  ['/slos', 'SLOs', 'slos'],
  ['/alerts', 'Alerts', 'alerts'],
  ['/status', 'Status', 'status'],
  ['/settings', 'Settings', 'settings'],
  ['/organization', 'Organization', 'organization'],
  ['/people', 'People', 'people', 'admins'],
  ['/audit', 'Audit log', 'audit', 'admins'],
];

/**
 * Whether the navigation link `href` is the view at `path` (or a page inside it).
 * @param {string} href
 * @param {string} path
 */
function navActive(href, path) {
  return href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`);
}

/**
 * The search box of the top bar: Enter opens the search view with the query (the range kept).
 * @param {{ path: string }} props
 */
function SearchBox({ path }) {
  if (path === '/search') return null;
  /** @param {Event} event */
  const submit = (event) => {
    event.preventDefault();
    const input = /** @type {HTMLFormElement} */ (event.currentTarget).elements.namedItem('q');
    const q = /** @type {HTMLInputElement} */ (input).value.trim();
    if (!q) return;
    const { range, from, to } = currentQuery();
    navigate(withQuery('/search', { q, range, from, to }));
  };
  return html`<form class="topbar-search" role="search" onSubmit=${submit}>
    <${Icon} name="search" size=${16} />
    <input type="search" name="q" placeholder="Search spans…" aria-label="Search spans" autocomplete="off" spellcheck="false" />
  </form>`;
}

/** Live/paused, with the feed's state and the spans per second it reports. */
function LiveControl() {
  const paused = usePaused();
  const state = useConnectionState();
  // Spans per second over the last ten summaries (one a second): steadier than one second's.
  const [rates, setRates] = useState(/** @type {number[]} */ ([]));
  useLive({}, (m) => m.type === 'summary' && setRates((r) => [...r.slice(-9), m.spans_per_second]));
  const rate = rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : null;
  const label = paused ? 'Paused' : state === 'live' ? 'Live' : 'Connecting…';
  return html`<div class="live-control">
    <button type="button" class=${`live-toggle ${paused ? 'paused' : state}`} aria-pressed=${!paused} onClick=${() => setPaused(!paused)} title=${paused ? 'Resume live updates' : 'Pause live updates'}>
      <span class="dot"></span>${label}
    </button>
    ${!paused && rate !== null && html`<span class="rate" title="Spans committed per second, over the last 10 seconds">${rate < 10 ? rate.toFixed(1) : fmt.compact(rate)} spans/s</span>`}
  </div>`;
}

/**
 * The project switcher: the projects the login may see (shown when there are several); a
 * choice goes into the URL, which every API call and the live feed follow.
 */
function ProjectSwitcher() {
  // Reloaded when the organization view creates, renames or deletes a project.
  const [version, setVersion] = useState(0);
  useEffect(() => onProjectsChanged(() => setVersion((n) => n + 1)), []);
  /** @type {ApiState<Api.Projects>} */
  const { data } = useApi('/projects', {}, version);
  const projects = data?.projects ?? [];
  if (projects.length < 2) return null;
  const current = shownProject(currentProject(), projects);
  /** @param {Event} event */
  const choose = (event) => {
    const name = /** @type {HTMLSelectElement} */ (event.currentTarget).value;
    navigate(withQuery(location.pathname, { ...currentQuery(), [PROJECT_PARAM]: name }));
  };
  return html`<label class="project-switcher" title="The project this dashboard shows">
    <span>Project</span>
    <select value=${current} onChange=${choose}>
      ${projects.map((p) => html`<option value=${p.name}>${p.name}</option>`)}
    </select>
  </label>`;
}

/**
 * @param {{
 *   path: string,
 *   range: Range,
 *   title: string,
 *   showRange?: boolean,
 *   session: Api.AuthSession | null,
 *   onLogout: () => void,
 *   children?: ComponentChildren,
 * }} props
 */
export function Layout({ path, range, title, showRange = true, session, onLogout, children }) {
  return html`<div class="layout">
    <aside class="sidebar">
      <a class="brand" href="/"><span class="logo"></span>agentrace</a>
      <${ProjectSwitcher} />
      <nav>
        ${NAV.filter(([, , , who]) => who !== 'admins' || (session && organizationAdmin(session))).map(
          ([href, label, icon]) => html`<a href=${href} class=${navActive(href, path) ? 'active' : ''} aria-current=${navActive(href, path) ? 'page' : undefined}>
            <${Icon} name=${icon} /> <span>${label}</span>
          </a>`,
        )}
      </nav>
      ${session?.person && html`<a class="signed-in muted small" href="/account" title=${`${session.person.email}: ${session.person.role}. Your sessions and password.`}>${session.person.email}</a>`}
      ${session?.token_required &&
      html`<button type="button" class="logout" onClick=${onLogout}><${Icon} name="logout" /> <span>Log out</span></button>`}
    </aside>
    <div class="main">
      <header class="topbar">
        <h1>${title}</h1>
        <div class="topbar-controls">
          <${SearchBox} path=${path} />
          ${showRange && html`<${RangePicker} range=${range} />`}
          <${LiveControl} />
        </div>
      </header>
      <main class="content">${children}</main>
    </div>
  </div>`;
}
