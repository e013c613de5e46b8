// Login: a person's e-mail address and password, or the API token (or a key), once; the
// server answers with an HttpOnly session cookie, so no script ever holds a secret afterwards.
// And the page an invitation's link opens: its token (in the URL's fragment, never sent to a
// server), a name and a password make the person and sign them in.

import { html, useState, withValue } from '../lib/html.js';
import { post, useAction } from '../lib/api.js';
import { navigate } from '../lib/router.js';

/**
 * What a refused login says.
 * @param {{ status?: number, message: string }} e
 * @param {'password' | 'token'} mode
 */
function refusal(e, mode) {
  if (e.status === 401) return mode === 'password' ? 'Wrong e-mail address or password.' : 'That token is not right.';
  return e.message;
}

/** Where the dashboard goes once signed in: the login's `next`, this server's path only. */
function nextAfterLogin() {
  const next = new URLSearchParams(location.search).get('next') ?? '/';
  return next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

/** @param {{ session: Api.AuthSession, onLogin: () => void }} props */
export function Login({ session, onLogin }) {
  const [mode, setMode] = useState(/** @type {'password' | 'token'} */ (session.password_login ? 'password' : 'token'));
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const { busy, error, setError, run } = useAction();
  /** @param {SubmitEvent} event */
  const submit = (event) => {
    event.preventDefault();
    run(post('/auth/login', mode === 'password' ? { email, password } : { token }), () => {
      setPassword('');
      setToken('');
      onLogin();
    });
  };
  const ready = mode === 'password' ? email && password : token;
  return html`<div class="login">
    <form class="login-card" onSubmit=${submit}>
      <div class="brand"><span class="logo"></span>agentrace</div>
      ${mode === 'password'
        ? html`<label>E-mail address
              <input type="email" name="email" autocomplete="username" required value=${email} onInput=${withValue(setEmail)} />
            </label>
            <label>Password
              <input type="password" name="password" autocomplete="current-password" required value=${password} onInput=${withValue(setPassword)} />
            </label>`
        : html`<p class="muted">This server needs its API token (or a key). You enter it once; the browser keeps a session.</p>
            <label>API token
              <input type="password" name="token" autocomplete="current-password" required value=${token} onInput=${withValue(setToken)} />
            </label>`}
      ${error && html`<div class="error-box" role="alert">${refusal(error, mode)}</div>`}
      <button type="submit" class="primary" disabled=${busy || !ready}>${busy ? 'Checking…' : 'Log in'}</button>
      ${session.password_login &&
      html`<button type="button" class="link-button" onClick=${() => {
        setMode(mode === 'password' ? 'token' : 'password');
        setError(null);
      }}>
        ${mode === 'password' ? 'Use an API token instead' : 'Log in with your e-mail address'}
      </button>`}
      ${session.sso &&
      html`<div class="sso">
        <span class="muted small">or</span>
        <a class="button sso-button" href=${`${session.sso.start}?next=${encodeURIComponent(nextAfterLogin())}`}>${session.sso.label}</a>
      </div>`}
    </form>
  </div>`;
}

/**
 * The token of an invitation's link: the fragment's `token`.
 * @param {string} hash `location.hash`
 */
export function invitationToken(hash) {
  return new URLSearchParams(hash.replace(/^#/, '')).get('token') ?? '';
}

/** @param {{ onJoined: () => void }} props */
export function Invitation({ onJoined }) {
  const [token] = useState(() => invitationToken(location.hash));
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, run } = useAction();
  /** @param {SubmitEvent} event */
  const submit = (event) => {
    event.preventDefault();
    run(post('/auth/invitation', { token, name, password }), () => {
      history.replaceState(null, '', '/');
      onJoined();
      navigate('/', { replace: true });
    });
  };
  return html`<div class="login">
    <form class="login-card" onSubmit=${submit}>
      <div class="brand"><span class="logo"></span>agentrace</div>
      ${token
        ? html`<p class="muted">You are invited. Choose your name and a password (12 characters at least).</p>
            <label>Your name
              <input type="text" name="name" autocomplete="name" required value=${name} onInput=${withValue(setName)} />
            </label>
            <label>Password
              <input type="password" name="password" autocomplete="new-password" minlength="12" required value=${password} onInput=${withValue(setPassword)} />
            </label>
            ${error && html`<div class="error-box" role="alert">${error.message}</div>`}
            <button type="submit" class="primary" disabled=${busy || !name || password.length < 12}>${busy ? 'Joining…' : 'Join'}</button>`
        : html`<div class="error-box" role="alert">This link holds no invitation: open the whole link you were sent.</div>`}
    </form>
  </div>`;
}
