/** The XSRF token's binding to the session, and the rule on where a hub change may come from. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refusedSource } from '../../src/auth/requestSource.ts';
import { newXsrfToken, xsrfTokenFits } from '../../src/auth/xsrf.ts';

test('an XSRF token fits only the session it was made for', () => {
  const session = 'session-secret-of-alice-0123456789abcdef';
  const token = newXsrfToken(session);
  assert.ok(xsrfTokenFits(token, session));
  assert.ok(!xsrfTokenFits(token, 'another-session'), 'not another session');
  assert.ok(!xsrfTokenFits(token, ''), 'not a request without a session');
  // What a page that cannot read the session cookie could plant: any value of its own.
  for (const planted of [
    'a'.repeat(43),
    `${'a'.repeat(43)}.${'b'.repeat(43)}`,
    `${token.split('.')[0]}.${'b'.repeat(43)}`,
    newXsrfToken(''),
    newXsrfToken('attacker-own-session'),
    '',
    '.',
  ])
    assert.ok(!xsrfTokenFits(planted, session), planted);
  // Without a session the token is only a double-submit value, still well-formed.
  assert.ok(xsrfTokenFits(newXsrfToken(''), ''));
});

const HOST = '127.0.0.1:8000';
const HUB_PAGE = 'http://127.0.0.1:8000/hub/home';

test('a hub change is taken from a hub page, or from a client that is not a browser', () => {
  const allowed = [
    // A hub page in a browser that sends everything.
    { secFetchSite: 'same-origin', origin: 'http://127.0.0.1:8000', referer: HUB_PAGE },
    // The login form's post.
    {
      secFetchSite: 'same-origin',
      origin: 'http://127.0.0.1:8000',
      referer: 'http://127.0.0.1:8000/hub/login?next=%2Fuser%2Falice%2Flab%2F',
    },
    // An older browser without Sec-Fetch-*.
    { secFetchSite: undefined, origin: 'http://127.0.0.1:8000', referer: HUB_PAGE },
    // curl, scripts, the test client: none of the three.
    { secFetchSite: undefined, origin: undefined, referer: undefined },
  ];
  for (const source of allowed)
    assert.equal(refusedSource({ host: HOST, ...source }), undefined, JSON.stringify(source));
});

test("a hub change from a user's server page, another site or a hidden page is refused", () => {
  const refused: [Record<string, string | undefined>, RegExp][] = [
    // A page of alice's server on the hub's origin.
    [
      {
        secFetchSite: 'same-origin',
        origin: 'http://127.0.0.1:8000',
        referer: 'http://127.0.0.1:8000/user/alice/lab/files/evil.html',
      },
      /not the hub's/,
    ],
    // The same page asking the browser to send no Referer.
    [{ secFetchSite: 'same-origin', origin: 'http://127.0.0.1:8000' }, /hid its address/],
    // A path that only looks like the hub's.
    [
      { secFetchSite: 'same-origin', referer: 'http://127.0.0.1:8000/hubx/../user/alice/' },
      /not the hub's/,
    ],
    [{ secFetchSite: 'same-origin', referer: 'http://127.0.0.1:8000/' }, /not the hub's/],
    // Alice's own origin, and other sites.
    [
      {
        secFetchSite: 'cross-site',
        origin: 'http://alice.localhost:8000',
        referer: 'http://alice.localhost:8000/user/alice/lab/',
      },
      /another site/,
    ],
    [{ secFetchSite: 'same-site', origin: 'https://alice.users.example.org' }, /another site/],
    [{ origin: 'http://alice.localhost:8000', referer: HUB_PAGE }, /Origin/],
    [{ origin: 'null' }, /Origin/],
    [{ referer: 'http://evil.example/hub/home' }, /Referer/],
    [{ referer: 'not a url' }, /not a URL/],
  ];
  for (const [source, reason] of refused) {
    const verdict = refusedSource({
      host: HOST,
      secFetchSite: source.secFetchSite,
      origin: source.origin,
      referer: source.referer,
    });
    assert.match(verdict ?? 'allowed', reason, JSON.stringify(source));
  }
});
