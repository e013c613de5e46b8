// Keys: a project's (`/projects/{name}/keys`) or the organization's (`/keys`), listed without
// their secrets, a form creating one (its secret shown this once, with a copy button) and a
// revoke button per key. A credential that may not manage keys sees the server's refusal.

import { html, useState, withValue } from '../lib/html.js';
import { post, remove, useAction, useApi } from '../lib/api.js';
import { SCOPES, expiry } from '../lib/settings.js';
import * as fmt from '../lib/format.js';
import { Card, Empty, ErrorBox, Loading } from './common.js';

/**
 * @import { ComponentChildren } from 'preact'
 * @import { ApiState } from '../lib/api.js'
 */

/**
 * When a new key may expire: [seconds after its creation ('' never), label].
 * @type {[string, string][]}
 */
const EXPIRIES = [
  ['', 'never'],
  [String(86400), 'in a day'],
  [String(30 * 86400), 'in 30 days'],
  [String(90 * 86400), 'in 90 days'],
  [String(365 * 86400), 'in a year'],
];

/**
 * A new key's secret, shown once: a copy button, and the note that it is never shown again.
 * @param {{ created: Api.Key, onDone: () => void }} props
 */
function Secret({ created, onDone }) {
  const [copied, setCopied] = useState(/** @type {boolean | null} */ (null));
  const secret = created.secret ?? '';
  const copy = () => {
    const clipboard = navigator.clipboard;
    if (!clipboard) {
      setCopied(false);
      return;
    }
    clipboard.writeText(secret).then(() => setCopied(true), () => setCopied(false));
  };
  /** @param {FocusEvent} event */
  const select = (event) => /** @type {HTMLInputElement} */ (event.currentTarget).select();
  return html`<div class="key-secret" role="status">
    <div class="key-secret-head">
      <strong>Key “${created.name}” created</strong> <span class="badge">${created.scope}</span>
    </div>
    <div class="key-secret-row">
      <input class="key-secret-value mono" readonly value=${secret} aria-label="The new key's secret" onFocus=${select} />
      <button type="button" class="button" onClick=${copy}>${copied ? 'Copied' : 'Copy'}</button>
    </div>
    <p class="key-secret-note">
      <strong>Shown once:</strong> the server keeps only its hash, so this secret is never shown again. Copy it now;
      a lost secret means a new key.
      ${copied === false && html` <span class="warn-text">The browser refused the clipboard: select the secret and copy it by hand.</span>`}
    </p>
    <button type="button" class="link-button" onClick=${onDone}>I have copied it</button>
  </div>`;
}

/**
 * The form creating a key: its name and scope.
 * @param {{ path: string, onCreated: (key: Api.Key) => void }} props
 */
function NewKey({ path, onCreated }) {
  const [name, setName] = useState('');
  const [scope, setScope] = useState(/** @type {string} */ ('read'));
  const [expires, setExpires] = useState('');
  const { busy, error, run } = useAction();
  /** @param {SubmitEvent} event */
  const submit = (event) => {
    event.preventDefault();
    /** @type {Api.KeyInput} */
    const input = { scope: /** @type {Api.KeyInput['scope']} */ (scope) };
    if (name.trim()) input.name = name.trim();
    if (expires) input.expires_in_seconds = Number(expires);
    run(/** @type {Promise<Api.Key>} */ (post(path, input)), (key) => {
      setName('');
      onCreated(key);
    });
  };
  return html`<form class="key-form" onSubmit=${submit} aria-label="New key">
    <label class="filter"><span>Name</span>
      <input name="key-name" placeholder="e.g. checkout" value=${name} onInput=${withValue(setName)} />
    </label>
    <label class="filter"><span>Scope</span>
      <select name="key-scope" value=${scope} onChange=${withValue(setScope)}>
        ${SCOPES.map(([s, what]) => html`<option value=${s} title=${what}>${s}</option>`)}
      </select>
    </label>
    <label class="filter key-expires"><span>Expires</span>
      <select name="key-expires" value=${expires} onChange=${withValue(setExpires)}>
        ${EXPIRIES.map(([seconds, label]) => html`<option value=${seconds}>${label}</option>`)}
      </select>
    </label>
    <button type="submit" class="primary" disabled=${busy}>${busy ? 'Creating…' : 'Create key'}</button>
    <span class="muted small key-scope-help">${SCOPES.find(([s]) => s === scope)?.[1]}</span>
    ${error && html`<div class="key-form-error"><${ErrorBox} error=${error} /></div>`}
  </form>`;
}

/**
 * The keys at `path`, each with a revoke button.
 * @param {{ path: string, keys: Api.Key[], onRevoked: () => void }} props
 */
function KeyTable({ path, keys, onRevoked }) {
  const [busy, setBusy] = useState(/** @type {number | null} */ (null));
  const [error, setError] = useState(/** @type {Error | null} */ (null));
  /** @param {Api.Key} key */
  const revoke = (key) => {
    if (!confirm(`Revoke the key “${key.name}” (${key.scope})? Whatever uses it is refused from now on; this cannot be undone.`)) return;
    setBusy(key.id);
    setError(null);
    remove(`${path}/${key.id}`)
      .then(onRevoked, setError)
      .finally(() => setBusy(null));
  };
  if (!keys.length) return html`<${Empty}>No keys yet.</${Empty}>`;
  return html`${error && html`<${ErrorBox} error=${error} />`}
  <table class="table compact keys-table">
    <thead><tr><th>Name</th><th>Scope</th><th>Creator</th><th>Created</th><th>Expires</th><th>Last used</th><th></th></tr></thead>
    <tbody>
      ${keys.map(
        (k) => html`<tr data-key=${k.id}>
          <th scope="row">${k.name || html`<span class="muted">(unnamed)</span>`}<span class="sub">key ${k.id}</span></th>
          <td><span class=${`badge scope-${k.scope}`}>${k.scope}</span></td>
          <td>${k.creator}</td>
          <td title=${fmt.dateTime(k.created_unix_nano)}>${fmt.ago(k.created_unix_nano)}</td>
          <td>${expiry(k.expires_unix_nano)}</td>
          <td title=${k.last_used_unix_nano ? fmt.dateTime(k.last_used_unix_nano) : ''}>${k.last_used_unix_nano ? fmt.ago(k.last_used_unix_nano) : 'never'}</td>
          <td class="num"><button type="button" class="button danger" disabled=${busy === k.id} onClick=${() => revoke(k)}>${busy === k.id ? 'Revoking…' : 'Revoke'}</button></td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

/**
 * The keys at `path` (`/projects/{name}/keys` or `/keys`): the list, the form creating one,
 * the secret of the one just created.
 * @param {{ path: string, title: ComponentChildren, intro?: ComponentChildren }} props
 */
export function KeyManager({ path, title, intro }) {
  const [refresh, setRefresh] = useState(0);
  const [created, setCreated] = useState(/** @type {Api.Key | null} */ (null));
  /** @type {ApiState<Api.Keys>} */
  const state = useApi(path, {}, refresh);
  const reload = () => setRefresh((n) => n + 1);
  let body;
  if (state.error && !state.data) body = html`<${ErrorBox} error=${state.error} />`;
  else if (!state.data) body = html`<${Loading} />`;
  else {
    body = html`${intro && html`<p class="muted small card-intro">${intro}</p>`}
      ${created && html`<${Secret} key=${created.id} created=${created} onDone=${() => setCreated(null)} />`}
      <${NewKey} path=${path} onCreated=${(/** @type {Api.Key} */ key) => {
        setCreated(key);
        reload();
      }} />
      <${KeyTable} path=${path} keys=${state.data.keys} onRevoked=${reload} />`;
  }
  return html`<${Card} title=${title} class="keys-card">${body}</${Card}>`;
}
