// Settings: the project of the URL — its keys, and its settings, one card per kind (budgets,
// prices, retention, capture, alerts) saying whether the project has its own, runs on the
// server's, or is given one by a file; each with an editor of its JSON document. A document is
// checked whole by the server: what it refuses is shown beside the editor.

import { html, useState, withValue } from '../lib/html.js';
import { put, remove, useAction, useApi } from '../lib/api.js';
import { currentProject, shownProject } from '../lib/project.js';
import { kindInfo, parseDocument, pretty, settingState } from '../lib/settings.js';
import { Card, ErrorBox, Pending } from '../components/common.js';
import { KeyManager } from '../components/keys.js';

/** @import { ApiState } from '../lib/api.js' */

/**
 * One kind's card: where the project's setting comes from, and (unless a file gives it) the
 * editor with Save and "Use the server's". `onStored` gets the setting as stored after a save
 * or a removal.
 * @param {{ project: string, setting: Api.Setting, onStored: (setting: Api.Setting) => void }} props
 */
function SettingCard({ project, setting, onStored }) {
  const info = kindInfo(setting.kind);
  const state = settingState(setting);
  const [text, setText] = useState(pretty(setting.document));
  const { busy, error, setError, run } = useAction();
  const path = `/settings/${encodeURIComponent(setting.kind)}`;
  /** @param {SubmitEvent} event */
  const save = (event) => {
    event.preventDefault();
    const parsed = parseDocument(text);
    if (parsed.error !== undefined) {
      setError({ message: parsed.error });
      return;
    }
    run(/** @type {Promise<Api.Setting>} */ (put(path, parsed.document)), onStored);
  };
  const useServers = () => {
    if (!confirm(`Remove project “${project}”'s own ${info.title.toLowerCase()}? The server's configuration applies again.`)) return;
    run(remove(path), () => onStored({ ...setting, document: null, revision: null, updated_by: null }));
  };
  const editor = setting.provided_by_file
    ? html`<p class="setting-file">The API cannot change it: edit <code>${setting.provided_by_file}</code> (and restart the server, for the provisioning folder), or take it out of the configuration to manage it here.</p>`
    : html`<form class="setting-editor" onSubmit=${save} aria-label=${`${info.title} document`}>
        <textarea
          name=${setting.kind}
          aria-label=${`${info.title} document (JSON)`}
          spellcheck="false"
          rows=${Math.min(18, Math.max(6, (text || pretty(info.example)).split('\n').length + 1))}
          placeholder=${pretty(info.example)}
          value=${text}
          onInput=${withValue(setText)}
        ></textarea>
        ${error && html`<div class="setting-error"><${ErrorBox} error=${error} /></div>`}
        <div class="setting-actions">
          <button type="submit" class="primary" disabled=${busy}>${busy ? 'Saving…' : 'Save'}</button>
          <button type="button" class="button" disabled=${busy || state.source !== 'own'} onClick=${useServers}
            title=${state.source === 'own' ? "Remove the project's own document" : "The server's configuration already applies"}>Use the server's</button>
        </div>
      </form>`;
  return html`<${Card}
    class=${`setting-card setting-${state.source}`}
    title=${info.title}
    actions=${html`<span class=${`badge setting-source ${state.source}`}>${state.label}</span>`}
  >
    <div data-kind=${setting.kind}>
      <p class="muted small">${info.over}</p>
      <p class="setting-state">${state.line}</p>
      ${editor}
    </div>
  </${Card}>`;
}

/**
 * The project's settings: a card per kind. A save replaces the card's setting with the
 * stored one (its editor then shows the stored document).
 * @param {{ project: string }} props
 */
function Settings({ project }) {
  /** @type {ApiState<Api.Settings>} */
  const state = useApi('/settings');
  const [stored, setStored] = useState(/** @type {Record<string, Api.Setting>} */ ({}));
  if (!state.data) return html`<${Pending} state=${state} />`;
  const settings = state.data.settings.map((s) => stored[s.kind] ?? s);
  return html`<div class="settings-grid">
    ${settings.map(
      (s) => html`<${SettingCard}
        key=${`${s.kind}:${s.revision ?? 'none'}`}
        project=${project}
        setting=${s}
        onStored=${(/** @type {Api.Setting} */ next) => setStored((m) => ({ ...m, [next.kind]: next }))}
      />`,
    )}
  </div>`;
}

export function ProjectSettings() {
  const named = currentProject();
  /** @type {ApiState<Api.Projects>} */
  const projects = useApi(named ? null : '/projects');
  if (!named && !projects.data && !projects.error) return html`<${Pending} state=${projects} />`;
  const project = shownProject(named, projects.data?.projects);
  return html`<div class="view settings-view">
    <p class="muted view-intro">
      Project <strong class="project-name">${project}</strong>: its keys and its configuration. Another project: the switcher
      on the left, or <a href="/organization">the organization</a>.
    </p>
    <${KeyManager}
      key=${project}
      path=${`/projects/${encodeURIComponent(project)}/keys`}
      title="Keys"
      intro=${html`Keys of project <strong>${project}</strong> only. An application sends with an <code>ingest</code> key; managing keys and settings needs <code>admin</code>.`}
    />
    <section class="settings-section" aria-labelledby="settings-heading">
      <h2 id="settings-heading" class="section-title">Settings</h2>
      <p class="muted small">
        One JSON document per kind, checked whole by the server and in force when saved (on every node of a fleet within 5 s).
        Where the project has none, the server's configuration applies.
      </p>
      <${Settings} key=${project} project=${project} />
    </section>
    ${projects.error && html`<${ErrorBox} error=${projects.error} />`}
  </div>`;
}
