// People: who may sign in, with their organization role and roles in projects, the
// invitations not yet taken (invite someone: the link is shown once), and each person's
// sessions. The organization's admins' (anyone else sees the server's refusal).

import { html, useState, withValue } from '../lib/html.js';
import { patch, post, remove, useAction, useApi } from '../lib/api.js';
import { Card, Copy, Empty, ErrorBox, Pending } from '../components/common.js';

/** @import { ApiState } from '../lib/api.js' */

const ROLES = ['viewer', 'member', 'admin', 'owner'];

/**
 * The form inviting someone; the link it answers, shown once.
 * @param {{ onInvited: () => void }} props
 */
function Invite({ onInvited }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('viewer');
  const { busy, error, run } = useAction();
  const [invited, setInvited] = useState(/** @type {Api.Invited | null} */ (null));
  /** @param {SubmitEvent} event */
  const submit = (event) => {
    event.preventDefault();
    run(/** @type {Promise<Api.Invited>} */ (post('/people/invitations', { email: email.trim(), role })), (answer) => {
      setInvited(answer);
      setEmail('');
      onInvited();
    });
  };
  return html`<form class="project-form invite-form" onSubmit=${submit} aria-label="Invite someone">
    <label class="filter"><span>E-mail address</span>
      <input type="email" name="invite-email" placeholder="dan@example.com" value=${email} onInput=${withValue(setEmail)} />
    </label>
    <label class="filter"><span>Role</span>
      <select name="invite-role" value=${role} onChange=${withValue(setRole)}>${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}</select>
    </label>
    <button type="submit" class="primary" disabled=${busy || !email.includes('@')}>${busy ? 'Inviting…' : 'Invite'}</button>
    ${error && html`<div class="project-form-error"><${ErrorBox} error=${error} /></div>`}
    ${invited &&
    html`<div class="secret-once" role="status">
      <p>Send <strong>${invited.email}</strong> this link: it works once, until ${new Date(invited.expires_at).toLocaleString()}, and is not shown again.</p>
      <code class="secret">${invited.url}</code> <${Copy} text=${invited.url} label="Copy the link" />
    </div>`}
  </form>`;
}

/**
 * A person's row: their role (changed in place), their roles in projects, how they log in, remove.
 * @param {{ person: Api.Person, onChanged: () => void }} props
 */
function PersonRow({ person, onChanged }) {
  const { busy, error, run } = useAction();
  /** @param {Promise<unknown>} action */
  const act = (action) => run(action, onChanged);
  const projects = Object.entries(person.projects);
  return html`<tr data-person=${person.email}>
    <th scope="row">${person.name} <span class="muted small">${person.email}</span>
      ${error && html`<div class="row-error"><${ErrorBox} error=${error} /></div>`}</th>
    <td>
      <select name="role" value=${person.role} disabled=${busy} aria-label=${`${person.email}'s role`}
        onChange=${withValue((role) => act(patch(`/people/${person.id}`, { role })))}>
        ${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}
      </select>
    </td>
    <td>${projects.length ? projects.map(([name, role]) => html`<span class="badge">${name}: ${role}</span> `) : html`<span class="muted">—</span>`}</td>
    <td>${person.login.join(', ') || html`<span class="muted">invited</span>`}</td>
    <td title=${person.last_login_at ?? ''}>${person.last_login_at ? new Date(person.last_login_at).toLocaleString() : html`<span class="muted">never</span>`}</td>
    <td class="num"><div class="project-actions">
      <button type="button" class="button" disabled=${busy} onClick=${() => act(remove(`/people/${person.id}/sessions`))} title="End every session of theirs, on every node within 5 s">End sessions</button>
      <button type="button" class="button danger" disabled=${busy}
        onClick=${() => confirm(`Remove ${person.email}? Their sessions end and their roles go.`) && act(remove(`/people/${person.id}`))}>Remove</button>
    </div></td>
  </tr>`;
}

export function People() {
  const [version, setVersion] = useState(0);
  const refresh = () => setVersion((n) => n + 1);
  /** @type {ApiState<Api.People>} */
  const state = useApi('/people', {}, version);
  if (!state.data) return html`<div class="view people-view"><${Pending} state=${state} /></div>`;
  const { people, invitations } = state.data;
  return html`<div class="view people-view">
    <${Card} title="People">
      <p class="muted small card-intro">Who may sign in, and what they may do: an organization role, and per project a role that overrides it (docs/access.md).</p>
      <${Invite} onInvited=${refresh} />
      ${people.length
        ? html`<table class="table compact people-table">
            <thead><tr><th>Person</th><th>Role</th><th>In projects</th><th>Logs in with</th><th>Last login</th><th></th></tr></thead>
            <tbody>${people.map((p) => html`<${PersonRow} key=${p.id} person=${p} onChanged=${refresh} />`)}</tbody>
          </table>`
        : html`<${Empty}>Nobody yet: invite someone, or configure single sign-on.</${Empty}>`}
    </${Card}>
    <${Card} title="Invitations">
      ${invitations.length
        ? html`<table class="table compact invitations-table">
            <thead><tr><th>E-mail address</th><th>Role</th><th>By</th><th>Until</th><th></th></tr></thead>
            <tbody>${invitations.map(
              (i) => html`<tr key=${i.id} data-invitation=${i.email} class=${i.expired ? 'muted' : ''}>
                <th scope="row">${i.email}</th><td>${i.role}</td><td>${i.created_by}</td>
                <td>${i.expired ? 'expired' : new Date(i.expires_at).toLocaleString()}</td>
                <td class="num"><button type="button" class="button" onClick=${() => remove(`/people/invitations/${i.id}`).then(refresh)}>Withdraw</button></td>
              </tr>`,
            )}</tbody>
          </table>`
        : html`<${Empty}>No invitation waiting.</${Empty}>`}
    </${Card}>
  </div>`;
}
