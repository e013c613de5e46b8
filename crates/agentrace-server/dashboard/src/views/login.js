// Login: the API token, once; the server answers with an HttpOnly session cookie, so no
// script ever holds the token afterwards.

import { html, useState, withValue } from '../lib/html.js';
import { post } from '../lib/api.js';

/** @param {{ onLogin: () => void }} props */
export function Login({ onLogin }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(/** @type {string | null} */ (null));
  const [busy, setBusy] = useState(false);
  /** @param {SubmitEvent} event */
  const submit = (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    post('/auth/login', { token })
      .then(() => {
        setToken('');
        onLogin();
      }, (e) => setError(e.status === 401 ? 'That token is not right.' : e.message))
      .finally(() => setBusy(false));
  };
  return html`<div class="login">
    <form class="login-card" onSubmit=${submit}>
      <div class="brand"><span class="logo"></span>agentrace</div>
      <p class="muted">This server needs its API token. You enter it once; the browser keeps a session.</p>
      <label>API token
        <input type="password" name="token" autocomplete="current-password" required value=${token} onInput=${withValue(setToken)} />
      </label>
      ${error && html`<div class="error-box" role="alert">${error}</div>`}
      <button type="submit" class="primary" disabled=${busy || !token}>${busy ? 'Checking…' : 'Log in'}</button>
    </form>
  </div>`;
}
