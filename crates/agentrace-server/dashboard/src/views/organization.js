// Organization: the projects (create, rename, delete) and the organization's own keys. Both
// need the organization's admin (api_token, or an organization key of scope admin); any other
// credential sees the server's refusal where it acts.

import { html, useState, withValue } from '../lib/html.js';
import { patch, post, remove, useAction, useApi } from '../lib/api.js';
import { PROJECT_PARAM, currentProject, projectsChanged, shownProject } from '../lib/project.js';
import { currentQuery, navigate, withQuery } from '../lib/router.js';
import * as fmt from '../lib/format.js';
import { Card, Empty, ErrorBox, Pending } from '../components/common.js';
import { KeyManager } from '../components/keys.js';

/** @import { ApiState } from '../lib/api.js' */

/**
 * Points the URL at project `name`, keeping the rest of the query: after the project it named
 * was renamed or deleted. (Navigation keeps the URL's project unless told another, so a
 * deleted one is replaced by the one the server would choose, never just dropped.)
 * @param {string} name
 */
function showProject(name) {
  navigate(withQuery(location.pathname, { ...currentQuery(), [PROJECT_PARAM]: name }), { replace: true });
}

/**
 * The form creating a project.
 * @param {{ onCreated: (project: Api.Project) => void }} props
 */
function NewProject({ onCreated }) {
  const [name, setName] = useState('');
  const { busy, error, run } = useAction();
  /** @param {SubmitEvent} event */
  const submit = (event) => {
    event.preventDefault();
    run(/** @type {Promise<Api.Project>} */ (post('/projects', { name: name.trim() })), (project) => {
      setName('');
      onCreated(project);
    });
  };
  return html`<form class="project-form" onSubmit=${submit} aria-label="New project">
    <label class="filter"><span>New project</span>
      <input name="project-name" placeholder="e.g. checkout" value=${name} onInput=${withValue(setName)} />
    </label>
    <button type="submit" class="primary" disabled=${busy || !name.trim()}>${busy ? 'Creating…' : 'Create project'}</button>
    <span class="muted small">1 to 64 lowercase letters, digits and “-”, starting with a letter or a digit.</span>
    ${error && html`<div class="project-form-error"><${ErrorBox} error=${error} /></div>`}
  </form>`;
}

/**
 * A project's row: its name (a link to its settings), when it was created, rename and delete.
 * @param {{ project: Api.Project, current: boolean, onChanged: (renamed?: Api.Project) => void, onDeleted: () => void }} props
 */
function ProjectRow({ project, current, onChanged, onDeleted }) {
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(project.name);
  const { busy, error, setError, run } = useAction();
  const path = `/projects/${encodeURIComponent(project.name)}`;
  /** @param {SubmitEvent} event */
  const rename = (event) => {
    event.preventDefault();
    run(/** @type {Promise<Api.Project>} */ (patch(path, { name: name.trim() })), (renamed) => {
      setRenaming(false);
      onChanged(renamed);
    });
  };
  const del = () => {
    if (!confirm(`Delete the project “${project.name}”? All of its data (traces, spans, events, scores, settings) is deleted from the store and all of its keys are revoked. This cannot be undone.`)) return;
    run(remove(path), onDeleted);
  };
  return html`<tr data-project=${project.name} class=${current ? 'selected' : ''}>
    <th scope="row">
      ${renaming
        ? html`<form class="rename-form" onSubmit=${rename} aria-label=${`Rename ${project.name}`}>
            <input name="rename" value=${name} onInput=${withValue(setName)} aria-label="New name" />
            <button type="submit" class="primary" disabled=${busy || !name.trim() || name.trim() === project.name}>Rename</button>
            <button type="button" class="link-button" onClick=${() => {
              setRenaming(false);
              setName(project.name);
              setError(null);
            }}>Cancel</button>
          </form>`
        : html`<a href=${withQuery('/settings', { [PROJECT_PARAM]: project.name })}>${project.name}</a>${current ? html` <span class="muted small">(shown)</span>` : ''}`}
      ${error && html`<div class="row-error"><${ErrorBox} error=${error} /></div>`}
    </th>
    <td class="num">${project.id}</td>
    <td title=${fmt.dateTime(project.created_unix_nano)}>${fmt.ago(project.created_unix_nano)}</td>
    <td class="num"><div class="project-actions">
      ${!renaming && html`<button type="button" class="button" disabled=${busy} onClick=${() => setRenaming(true)}>Rename</button>`}
      <button type="button" class="button danger" disabled=${busy} onClick=${del}>${busy && !renaming ? 'Deleting…' : 'Delete'}</button>
    </div></td>
  </tr>`;
}

/** The projects the login may act on, with the form creating one. */
function Projects() {
  const [refresh, setRefresh] = useState(0);
  const [notice, setNotice] = useState(/** @type {string | null} */ (null));
  /** @type {ApiState<Api.Projects>} */
  const state = useApi('/projects', {}, refresh);
  if (!state.data) return html`<${Card} title="Projects"><${Pending} state=${state} /></${Card}>`;
  const projects = state.data.projects;
  const shown = shownProject(currentProject(), projects);
  /** @param {string} message */
  const changed = (message) => {
    setNotice(message);
    setRefresh((n) => n + 1);
    projectsChanged();
  };
  return html`<${Card} title="Projects" class="projects-card">
    <p class="muted small card-intro">
      Each project's telemetry, settings and keys are its own. Deleting one deletes its data and revokes its keys; the last
      project cannot be deleted.
    </p>
    <${NewProject} onCreated=${(/** @type {Api.Project} */ p) => changed(`Project “${p.name}” created.`)} />
    ${notice && html`<div class="ok-text small notice" role="status">${notice}</div>`}
    ${state.error && html`<${ErrorBox} error=${state.error} />`}
    ${projects.length
      ? html`<table class="table compact projects-table">
          <thead><tr><th>Name</th><th class="num">Id</th><th>Created</th><th></th></tr></thead>
          <tbody>
            ${projects.map(
              (p) => html`<${ProjectRow}
                key=${p.id}
                project=${p}
                current=${p.name === shown}
                onChanged=${(/** @type {Api.Project | undefined} */ renamed) => {
                  if (renamed && p.name === currentProject()) showProject(renamed.name);
                  changed(renamed ? `Project “${p.name}” renamed “${renamed.name}”.` : `Project “${p.name}” changed.`);
                }}
                onDeleted=${() => {
                  if (p.name === currentProject()) showProject(shownProject(null, projects.filter((x) => x.id !== p.id)));
                  changed(`Project “${p.name}” deleted.`);
                }}
              />`,
            )}
          </tbody>
        </table>`
      : html`<${Empty}>No project this login may act on.</${Empty}>`}
  </${Card}>`;
}

export function Organization() {
  return html`<div class="view organization-view">
    <${Projects} />
    <${KeyManager}
      path="/keys"
      title="Organization keys"
      intro=${html`Keys of the organization, for automation and gateways: not tied to one project (a request names its project with <code>x-agentrace-project</code>).
        An organization <code>admin</code> key manages projects and every key.`}
    />
  </div>`;
}
