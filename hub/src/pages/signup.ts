/** The registration page; client/signup.ts posts to the same API a script would. */
import { html } from './html.ts';
import type { PageDef } from './page.ts';

export const signupPage: PageDef = {
  path: '/hub/signup',
  access: 'anyone',
  render: ({ hub }) => {
    if (!hub.config.openRegistration) {
      return {
        title: 'Register',
        body: html`<div class="card"><h1>Registration is closed</h1><p class="muted">Ask an administrator for an account.</p><a href="/hub/login">Sign in</a></div>`,
      };
    }
    return {
      title: 'Register',
      script: 'signup',
      body: html`<div class="card"><h1>Create your Orrery account</h1>
    <div id="error" class="error" role="alert" hidden></div>
    <form id="signup">
      <label for="username">Username</label><input id="username" name="username" autocomplete="username" maxlength="64" required autofocus>
      <label for="email">Email</label><input id="email" name="email" type="email" autocomplete="email" required>
      <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="new-password" minlength="8" required>
      <button type="submit">Register</button>
    </form>
    ${hub.config.requireApproval && html`<p class="muted">New accounts are approved by an administrator.</p>`}
    <p class="muted">Already registered? <a href="/hub/login">Sign in</a></p></div>`,
    };
  },
};
