/** The registration page; it posts to the same API a script would. */
import { page } from './layout.ts';

const SCRIPT = String.raw`
const form = document.querySelector('#signup');
const error = document.querySelector('#error');
form.onsubmit = async (event) => {
  event.preventDefault();
  error.hidden = true;
  const xsrf = decodeURIComponent((document.cookie.match(/(?:^|; )_xsrf=([^;]+)/) || [])[1] || '');
  const post = (path, body) => fetch('/hub/api' + path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-xsrftoken': xsrf }, body: JSON.stringify(body) })
    .then(async (res) => { const json = await res.json().catch(() => ({})); if (!res.ok) throw new Error(json.message || res.statusText); return json; });
  const data = Object.fromEntries(new FormData(form));
  try {
    const registered = await post('/register', data);
    if (registered.pendingApproval) {
      form.replaceWith(Object.assign(document.createElement('p'), { textContent: 'Thank you. An administrator will approve your account; then you can sign in.' }));
      return;
    }
    await post('/login', { username: data.username, password: data.password });
    window.location.href = '/hub/home';
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
  }
};
`;

export function signupPage(requireApproval: boolean, open: boolean): string {
  if (!open) {
    return page(
      'Register',
      '<div class="card"><h1>Registration is closed</h1><p class="muted">Ask an administrator for an account.</p><a href="/hub/login">Sign in</a></div>',
    );
  }
  return page(
    'Register',
    `<div class="card"><h1>Create your Orrery account</h1>
    <div id="error" class="error" role="alert" hidden></div>
    <form id="signup">
      <label for="username">Username</label><input id="username" name="username" autocomplete="username" maxlength="64" required autofocus>
      <label for="email">Email</label><input id="email" name="email" type="email" autocomplete="email" required>
      <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="new-password" minlength="8" required>
      <button type="submit">Register</button>
    </form>
    ${requireApproval ? '<p class="muted">New accounts are approved by an administrator.</p>' : ''}
    <p class="muted">Already registered? <a href="/hub/login">Sign in</a></p></div>
    <script>${SCRIPT}</script>`,
  );
}
