// Account: the person signed in — their sessions (this browser's marked; end any other), and
// their password (the current one checked; their other sessions end).

import { html, useState, withValue } from '../lib/html.js';
import { post, remove, useAction, useApi } from '../lib/api.js';
import { Card, Empty, ErrorBox, Pending } from '../components/common.js';

/** @import { ApiState } from '../lib/api.js' */

function Password() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const { busy, error, run } = useAction();
  const [done, setDone] = useState(false);
  /** @param {SubmitEvent} event */
  const submit = (event) => {
    event.preventDefault();
    setDone(false);
    run(post('/me/password', { current, new: next }), () => {
      setCurrent('');
      setNext('');
      setDone(true);
    });
  };
  return html`<form class="project-form password-form" onSubmit=${submit} aria-label="Change your password">
    <label class="filter"><span>Current password</span>
      <input type="password" name="current" autocomplete="current-password" value=${current} onInput=${withValue(setCurrent)} />
    </label>
    <label class="filter"><span>New password (12 characters at least)</span>
      <input type="password" name="new" autocomplete="new-password" minlength="12" value=${next} onInput=${withValue(setNext)} />
    </label>
    <button type="submit" class="primary" disabled=${busy || !current || next.length < 12}>${busy ? 'Changing…' : 'Change password'}</button>
    ${done && html`<span class="ok-text small" role="status">Changed; your other sessions ended.</span>`}
    ${error && html`<div class="project-form-error"><${ErrorBox} error=${error} /></div>`}
  </form>`;
}

export function Account() {
  const [version, setVersion] = useState(0);
  /** @type {ApiState<Api.LoginSessions>} */
  const state = useApi('/me/sessions', {}, version);
  return html`<div class="view account-view">
    <${Card} title="Your sessions">
      <p class="muted small card-intro">Where you are signed in. Ending one signs that browser out on every node within 5 s.</p>
      ${!state.data
        ? html`<${Pending} state=${state} />`
        : state.data.sessions.length
          ? html`<table class="table compact sessions-table">
              <thead><tr><th>Since</th><th>From</th><th>Browser</th><th>Until</th><th></th></tr></thead>
              <tbody>${state.data.sessions.map(
                (s) => html`<tr key=${s.id} data-session=${s.id}>
                  <td>${new Date(s.created_at).toLocaleString()}</td><td class="mono small">${s.address}</td>
                  <td class="small">${s.user_agent}</td><td>${new Date(s.expires_at).toLocaleString()}</td>
                  <td class="num">${s.current
                    ? html`<span class="muted small">this browser</span>`
                    : html`<button type="button" class="button" onClick=${() => remove(`/me/sessions/${s.id}`).then(() => setVersion((n) => n + 1))}>End</button>`}</td>
                </tr>`,
              )}</tbody>
            </table>`
          : html`<${Empty}>No session kept for this login (a token's or a key's lives in the browser only).</${Empty}>`}
    </${Card}>
    <${Card} title="Password"><${Password} /></${Card}>
  </div>`;
}
