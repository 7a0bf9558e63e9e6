import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCookieHeader } from '../../src/auth/cookies.ts';
import { SESSION_COOKIE } from '../../src/auth/sessions.ts';
import { HOST_COOKIE } from '../../src/auth/userOrigin.ts';
import {
  responseHeaderList,
  sessionCookieOf,
  stripSessionCookie,
  upstreamHeaderList,
} from '../../src/proxy/proxy.ts';

const pairs = (list: string[]) => {
  const out: [string, string][] = [];
  for (let i = 0; i < list.length; i += 2) out.push([list[i]!, list[i + 1]!]);
  return out;
};
const named = (list: string[], name: string) =>
  pairs(list)
    .filter(([key]) => key.toLowerCase() === name)
    .map(([, value]) => value);

test('upstream headers: credentials, forwarding headers and hop-by-hop are replaced, the rest kept as sent', () => {
  const raw = [
    'Host',
    'hub.example:8000',
    'Authorization',
    'token jupyters-own',
    'Cookie',
    `_xsrf=abc; ${SESSION_COOKIE}=secret-session`,
    'X-Forwarded-For',
    '6.6.6.6',
    'x-forwarded-proto',
    'https',
    'Connection',
    'keep-alive',
    'Keep-Alive',
    'timeout=5',
    'Transfer-Encoding',
    'chunked',
    'TE',
    'trailers',
    'Accept',
    'application/json',
    'X-Custom',
    'one',
    'X-Custom',
    'two',
  ];
  const out = upstreamHeaderList(raw, 'token server-secret', '127.0.0.1', false, 'up:8888');
  assert.deepEqual(named(out, 'authorization'), ['token server-secret']);
  assert.deepEqual(named(out, 'x-forwarded-for'), ['127.0.0.1']);
  assert.deepEqual(named(out, 'x-forwarded-proto'), ['http']);
  assert.deepEqual(named(out, 'cookie'), ['_xsrf=abc']);
  for (const hop of ['connection', 'keep-alive', 'transfer-encoding', 'te'])
    assert.deepEqual(named(out, hop), [], hop);
  assert.deepEqual(named(out, 'host'), ['hub.example:8000']);
  assert.deepEqual(named(out, 'accept'), ['application/json']);
  // Repeated headers stay repeated, with the client's spelling.
  assert.deepEqual(
    pairs(out).filter(([key]) => key === 'X-Custom'),
    [
      ['X-Custom', 'one'],
      ['X-Custom', 'two'],
    ],
  );
  assert.ok(!out.join('\n').includes('secret-session'));
});

test('upstream headers for an upgrade keep Connection and Upgrade', () => {
  const raw = ['Host', 'h', 'Connection', 'Upgrade', 'Upgrade', 'websocket', 'Origin', 'http://h'];
  const out = upstreamHeaderList(raw, 'token s', undefined, true, 'up:1');
  assert.deepEqual(named(out, 'connection'), ['Upgrade']);
  assert.deepEqual(named(out, 'upgrade'), ['websocket']);
  assert.deepEqual(named(out, 'x-forwarded-for'), ['']);
});

test('upstream headers: one Host (the first), the upstream host when none came, cookie headers joined', () => {
  const noHost = upstreamHeaderList(['Accept', '*/*'], 'token s', '::1', false, 'up:8888');
  assert.deepEqual(named(noHost, 'host'), ['up:8888']);
  const twoHosts = upstreamHeaderList(['Host', 'a', 'host', 'b'], 'token s', '::1', false, 'x');
  assert.deepEqual(named(twoHosts, 'host'), ['a']);
  const cookies = upstreamHeaderList(
    ['Cookie', 'a=1', 'cookie', `${SESSION_COOKIE}=s`, 'Cookie', 'b=2'],
    'token s',
    '::1',
    false,
    'x',
  );
  assert.deepEqual(named(cookies, 'cookie'), ['a=1; b=2']);
  const onlySession = upstreamHeaderList(
    ['Cookie', `${SESSION_COOKIE}=s`],
    'token s',
    '::1',
    false,
    'x',
  );
  assert.deepEqual(named(onlySession, 'cookie'), []);
});

test('response headers: hop-by-hop dropped in any case, everything else kept in order', () => {
  const raw = [
    'Content-Type',
    'text/plain',
    'Transfer-Encoding',
    'chunked',
    'CONNECTION',
    'keep-alive',
    'Keep-Alive',
    'timeout=5',
    'Set-Cookie',
    'a=1',
    'Set-Cookie',
    'b=2',
    'Trailer',
    'x',
    'Upgrade',
    'h2c',
    'Content-Length',
    '10',
    'Etag',
    '"e"',
  ];
  assert.deepEqual(responseHeaderList(raw), [
    'Content-Type',
    'text/plain',
    'Set-Cookie',
    'a=1',
    'Set-Cookie',
    'b=2',
    'Content-Length',
    '10',
    'Etag',
    '"e"',
  ]);
});

test('the session cookie is found and stripped exactly as a full parse would', () => {
  const headers = [
    undefined,
    '',
    'a=1',
    `${SESSION_COOKIE}=abc`,
    `a=1; ${SESSION_COOKIE}=abc%20d; b=2`,
    `${SESSION_COOKIE} = spaced`,
    `x${SESSION_COOKIE}=not-it; ${SESSION_COOKIE}="quoted"`,
  ];
  for (const header of headers) {
    assert.equal(
      sessionCookieOf(header),
      parseCookieHeader(header ?? '')[SESSION_COOKIE],
      String(header),
    );
    const stripped = stripSessionCookie(header);
    assert.equal(parseCookieHeader(stripped ?? '')[SESSION_COOKIE], undefined, String(header));
  }
  assert.equal(stripSessionCookie('a=1; b=2'), 'a=1; b=2');
  assert.equal(stripSessionCookie(`a=1; ${SESSION_COOKIE}=x; b=2`), 'a=1; b=2');
  assert.equal(stripSessionCookie(`${SESSION_COOKIE}=x`), undefined);
});

test("CORS headers from a user's server are dropped unless configured, the host cookie too", () => {
  // What Jupyter answers a cross-origin request (it reflects whatever Origin it was sent).
  const raw = [
    'Access-Control-Allow-Origin',
    'https://evil.example',
    'access-control-allow-credentials',
    'true',
    'ACCESS-CONTROL-ALLOW-HEADERS',
    'Authorization',
    'Access-Control-Expose-Headers',
    'X-A',
    'Accept-Ranges',
    'bytes',
    'Content-Type',
    'application/json',
  ];
  assert.deepEqual(responseHeaderList(raw), [
    'Accept-Ranges',
    'bytes',
    'Content-Type',
    'application/json',
  ]);
  assert.deepEqual(responseHeaderList(raw, true), raw);
  assert.equal(
    stripSessionCookie(`a=1; ${HOST_COOKIE}=secret; ${SESSION_COOKIE}=x; b=2`),
    'a=1; b=2',
  );
});

test('upstream headers for a server that signs in through the hub: no Authorization unless given', () => {
  const raw = ['Host', 'h', 'Authorization', 'token jupyter-own', 'Cookie', 'jupyterhub-user-a=v'];
  const none = upstreamHeaderList(raw, undefined, '::1', false, 'x');
  assert.deepEqual(named(none, 'authorization'), [], 'the client’s own header never passes');
  assert.deepEqual(named(none, 'cookie'), ['jupyterhub-user-a=v'], 'the server’s own cookie does');
  const checked = upstreamHeaderList(raw, 'token orr_checked', '::1', false, 'x');
  assert.deepEqual(named(checked, 'authorization'), ['token orr_checked']);
});
