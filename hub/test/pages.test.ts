/**
 * The hub's pages as a browser gets them: every page in the page table carries the strict
 * Content-Security-Policy and no inline script, style or event handler; its assets are served
 * for long caching; signing out takes a POST with the XSRF token; pages refuse strangers and
 * non-admins the way the page router declares.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import cookieParser from 'cookie-parser';
import express from 'express';
import pg from 'pg';
import { html } from '../src/pages/html.ts';
import { CONTENT_SECURITY_POLICY } from '../src/pages/layout.ts';
import { buildPageRouter, type PageDef } from '../src/pages/page.ts';
import { pages } from '../src/pages/routes.ts';
import { Client, signUp, startTestHub, type TestHub } from './support.ts';

let hub: TestHub;
let alice: Client;
let admin: Client;

before(async () => {
  hub = await startTestHub('pages');
  alice = await signUp(hub.url, 'alice');
  admin = await signUp(hub.url, 'pagesadmin');
  const db = new pg.Client({ connectionString: hub.databaseUrl });
  await db.connect();
  await db.query(`UPDATE users SET admin = true WHERE name = 'pagesadmin'`);
  await db.end();
});
after(async () => {
  await hub.stop();
});

/** What the CSP forbids, checked in the markup too so a violation fails here, not only in a browser. */
function assertNoInlineCode(markup: string, where: string): void {
  for (const tag of markup.match(/<script\b[^>]*>[\s\S]*?<\/script>/gi) ?? []) {
    assert.match(
      tag,
      /^<script\b[^>]*\bsrc="\/hub\/static\/[^"]+"[^>]*><\/script>$/,
      `${where}: ${tag}`,
    );
  }
  assert.doesNotMatch(markup, /<[^>]+\son[a-z]+\s*=/i, `${where}: an on* handler attribute`);
  assert.doesNotMatch(markup, /<[^>]+\sstyle\s*=/i, `${where}: a style attribute`);
  assert.doesNotMatch(markup, /<style\b/i, `${where}: a <style> element`);
  assert.doesNotMatch(markup, /javascript:/i, `${where}: a javascript: URL`);
}

test('every page, to every kind of visitor, carries the CSP and no inline script or handler', async () => {
  assert.ok(pages.length >= 4);
  for (const def of pages) {
    for (const [who, client] of [
      ['anonymous', new Client(hub.url)],
      ['alice', alice],
      ['admin', admin],
    ] as const) {
      const res = await client.get(def.path);
      const where = `${def.path} as ${who}`;
      if (res.status === 303) {
        assert.notEqual(def.access, 'anyone', where);
        assert.equal(
          res.headers.get('location'),
          `/hub/login?next=${encodeURIComponent(def.path)}`,
        );
        continue;
      }
      assert.equal(res.status, 200, where);
      assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, where);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/, where);
      assertNoInlineCode(res.text, where);
    }
  }
});

test('a hostile next= and a failed sign-in render as text under the same policy', async () => {
  const visitor = new Client(hub.url);
  const hostile = encodeURIComponent('/hub/home"><script>alert(1)</script>');
  const page = await visitor.get(`/hub/login?next=${hostile}`);
  assertNoInlineCode(page.text, 'login with a hostile next');
  await visitor.get('/hub/login');
  const refused = await visitor.request(
    'POST',
    `/hub/login?next=${hostile}`,
    `username=alice&password=wrong&_xsrf=${visitor.xsrf}`,
    { 'content-type': 'application/x-www-form-urlencoded' },
  );
  assert.equal(refused.status, 403);
  assert.equal(refused.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
  assert.match(refused.text, /role="alert"/);
  assertNoInlineCode(refused.text, 'failed sign-in');
});

test('the page assets are served with their type and cached for good under their version', async () => {
  const visitor = new Client(hub.url);
  const home = (await alice.get('/hub/home')).text;
  const urls = [...home.matchAll(/(?:src|href)="(\/hub\/static\/[^"]+)"/g)].map((m) => m[1]!);
  assert.deepEqual(urls.map((url) => url.replace(/\?v=[0-9a-f]{12}$/, '')).sort(), [
    '/hub/static/favicon.svg',
    '/hub/static/home.js',
    '/hub/static/page.css',
  ]);
  const types: Record<string, RegExp> = {
    js: /^text\/javascript/,
    css: /^text\/css/,
    svg: /^image\/svg\+xml/,
  };
  for (const url of urls) {
    const res = await visitor.get(url);
    assert.equal(res.status, 200, url);
    assert.match(
      res.headers.get('content-type') ?? '',
      types[url.split('?')[0]!.split('.').pop()!]!,
      url,
    );
    assert.match(res.headers.get('cache-control') ?? '', /immutable/, url);
    // Without the current version the browser must ask again.
    const unversioned = await visitor.get(url.split('?')[0]!);
    assert.equal(unversioned.headers.get('cache-control'), 'no-cache', url);
  }
  const favicon = await visitor.get('/favicon.ico');
  assert.equal(favicon.status, 200);
  assert.match(favicon.headers.get('content-type') ?? '', /^image\/svg\+xml/);
  assert.equal((await visitor.get('/hub/static/nothing.js')).status, 404);
});

test('GET /hub/logout only shows a button; the POST without the XSRF token is refused; with it, the session ends', async () => {
  const bob = await signUp(hub.url, 'bob');
  const shown = await bob.get('/hub/logout');
  assert.equal(shown.status, 200);
  assert.match(
    shown.text,
    /<form method="post" action="\/hub\/logout"><input type="hidden" name="_xsrf">/,
  );
  assert.equal(
    (await bob.get('/hub/api/user')).status,
    200,
    'a GET (any page could make one) keeps the session',
  );

  // Another site can make the browser POST, cookies and all, but cannot read the _xsrf cookie.
  const forged = await bob.request('POST', '/hub/logout', 'x=1', {
    'content-type': 'application/x-www-form-urlencoded',
    'x-xsrftoken': '',
  });
  assert.equal(forged.status, 403);
  assert.equal((await bob.get('/hub/api/user')).status, 200, 'a forged POST keeps the session');

  // The page's form: a plain urlencoded POST carrying the token as a field, no header.
  const out = await fetch(`${hub.url}/hub/logout`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...bob.authHeaders(), 'content-type': 'application/x-www-form-urlencoded' },
    body: `_xsrf=${encodeURIComponent(bob.xsrf!)}`,
  });
  assert.equal(out.status, 303);
  assert.equal(out.headers.get('location'), '/hub/login');
  assert.match(out.headers.get('set-cookie') ?? '', /expires=Thu, 01 Jan 1970/i);
  // The session is gone on the hub, not only in this browser.
  assert.equal((await bob.get('/hub/api/user')).status, 403);
});

test('an admin page is one declaration: strangers sign in, users are refused, admins see it', async () => {
  const adminPage: PageDef = {
    path: '/hub/admin/example',
    access: 'admin',
    render: ({ caller }) => ({ title: 'Admin', body: html`<h1>Hello ${caller.user.name}</h1>` }),
  };
  const app = express()
    .use(cookieParser())
    .use(buildPageRouter(hub.hub, [adminPage]));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const withCookies = (client: Client) => ({
    headers: client.authHeaders(),
    redirect: 'manual' as const,
  });
  try {
    const stranger = await fetch(`${base}/hub/admin/example`, { redirect: 'manual' });
    assert.equal(stranger.status, 303);
    const user = await fetch(`${base}/hub/admin/example`, withCookies(alice));
    assert.equal(user.status, 403);
    assert.equal(user.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    const allowed = await fetch(`${base}/hub/admin/example`, withCookies(admin));
    assert.equal(allowed.status, 200);
    assert.match(await allowed.text(), /<h1>Hello pagesadmin<\/h1>/);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
