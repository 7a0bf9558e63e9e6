/** The home page: the user's servers and a form to start one; client/home.ts draws the data. */
import { html } from './html.ts';
import type { PageDef } from './page.ts';
import { signOutForm } from './signOut.ts';

/** After joining a course by its invitation link (courses/joinPage.ts): say so. */
function joinedNotice(joined: unknown) {
  if (typeof joined !== 'string' || !/^[a-z0-9][a-z0-9-]{0,39}$/.test(joined)) return '';
  return html`<div id="course-joined" class="card wide" role="status">You joined the course <strong>${joined}</strong>. Its assignments are in the Courses panel of your JupyterLab.</div>`;
}

export const homePage: PageDef = {
  path: '/hub/home',
  access: 'user',
  render: ({ caller, req }) => ({
    title: 'Home',
    script: 'home',
    data: { user: caller.user.name },
    body: html`<div class="wide">
      <div class="toolbar"><h1>Your servers</h1>
        <span class="muted">Signed in as <strong>${caller.user.name}</strong>${caller.user.admin && html` · <a id="admin-link" href="/hub/admin/users">platform admin</a>`} · ${signOutForm('Sign out')}</span></div>
      ${joinedNotice(req.query.joined)}
      <div id="error" class="error" role="alert" hidden></div>
      <div id="progress" class="card wide" hidden><div class="label">Starting…</div><progress max="100" value="0"></progress></div>
      <p id="empty" class="muted">No server is running. Start one below; your files are kept between servers.</p>
      <table id="servers" hidden><thead><tr><th>Name</th><th>Image</th><th>Domain</th><th>Status</th><th></th><th></th></tr></thead><tbody></tbody></table>
      <div id="share-made" class="card wide" hidden><h2>Share code</h2>
        <p class="muted">Send this link to whoever you share <strong id="share-server"></strong> with; signed in, they open it to accept. It expires <span id="share-expires"></span>. Whoever uses your server acts as you inside it.</p>
        <input id="share-url" readonly></div>
      <h2>Shared with you</h2>
      <p id="shared-empty" class="muted">No one has shared a server with you.</p>
      <table id="shared" hidden><thead><tr><th>Server</th><th>Shared with</th><th>You may</th><th>Status</th><th></th></tr></thead><tbody></tbody></table>
      <form id="start" class="card wide">
        <h2>Start a server</h2>
        <div class="grid">
          <div><label for="name">Name</label><input id="name" value="" placeholder="default server" pattern="[a-z0-9][a-z0-9\\-]{0,31}" title="empty for your default server, or lower-case letters, digits and -"></div>
          <div><label for="image">Image</label><select id="image"></select></div>
          <div><label for="domain">Compute domain</label><select id="domain"></select></div>
        </div>
        <p id="limits" class="muted"></p>
        <button type="submit">Start</button>
      </form>
    </div>`,
  }),
};
