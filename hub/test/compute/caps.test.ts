/**
 * Per-user caps on long-lived connections, with real servers run as local processes: spawn-progress
 * event streams (held open by a spawn that never becomes ready) and WebSockets through the proxy
 * to a real Jupyter server. Above the cap the hub answers 429; closing one frees its slot.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type WebSocket from 'ws';
import { signUp, startTestHub, type TestHub, testConfig } from '../support.ts';
import { openSocket, readProgress, sleepingJupyter, waitForStatus } from './support.ts';

/** Retry `attempt` until it returns a value, for at most `ms`; says what did not happen in time. */
async function within<T>(ms: number, what: string, attempt: () => Promise<T | undefined>) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await attempt();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not happen within ${ms} ms`);
}

let streams: TestHub;
let sockets: TestHub;
before(async () => {
  // A "jupyter" that never answers: the spawn stays in progress, so its event stream stays open.
  const hang = sleepingJupyter();
  streams = await startTestHub('caps_streams', {
    maxEventStreamsPerUser: 2,
    compute: { ...testConfig('').compute, jupyterCommand: hang, spawnTimeoutSeconds: 300 },
  });
  sockets = await startTestHub('caps_sockets', { maxWebSocketsPerUser: 2 });
});
after(async () => {
  await streams?.stop();
  await sockets?.stop();
});

test('a user holds at most maxEventStreamsPerUser progress streams open; the next answers 429', async () => {
  const kim = await signUp(streams.url, 'kim');
  const started = await kim.post('/hub/api/users/kim/servers/lab', {});
  assert.equal(started.status, 202, started.text);
  const url = streams.url + started.json.progress_url;
  const open: AbortController[] = [];
  /** Open a progress stream; an open one is kept (to close later), a refusal's JSON is read. */
  const follow = async (): Promise<{ status: number; json?: { error: string } }> => {
    const abort = new AbortController();
    const res = await fetch(url, { headers: kim.authHeaders(), signal: abort.signal });
    if (res.status !== 200) return { status: res.status, json: await res.json() };
    open.push(abort);
    return { status: 200 };
  };
  try {
    assert.equal((await follow()).status, 200);
    assert.equal((await follow()).status, 200);
    const third = await follow();
    assert.equal(third.status, 429);
    assert.equal(third.json?.error, 'too_many_requests');
    open.shift()!.abort();
    await within(5000, 'a stream opening after another closed', async () => {
      const res = await follow();
      return res.status === 200 ? res : undefined;
    });
  } finally {
    for (const abort of open) abort.abort();
  }
});

test('a user holds at most maxWebSocketsPerUser WebSockets to their servers; the next is refused with 429', async () => {
  const lee = await signUp(sockets.url, 'lee');
  const started = await lee.post('/hub/api/users/lee/servers/lab', {});
  assert.equal(started.status, 202, started.text);
  const events = await readProgress(sockets.url, started.json.progress_url, lee.authHeaders());
  assert.equal(events.at(-1)?.ready, true, JSON.stringify(events));
  const wsUrl = `${sockets.url.replace('http', 'ws')}/user/lee/lab/api/events/subscribe`;
  const open: WebSocket[] = [];
  try {
    open.push(await openSocket(wsUrl, lee.authHeaders()));
    open.push(await openSocket(wsUrl, lee.authHeaders()));
    await assert.rejects(openSocket(wsUrl, lee.authHeaders()), /refused with 429/);
    const closing = open.shift()!;
    const closed = new Promise((resolve) => closing.once('close', resolve));
    closing.close();
    await closed;
    open.push(
      await within(5000, 'a WebSocket opening after another closed', () =>
        openSocket(wsUrl, lee.authHeaders()).catch(() => undefined),
      ),
    );
  } finally {
    for (const socket of open) socket.terminate();
    assert.equal((await lee.delete('/hub/api/users/lee/servers/lab')).status, 204);
    await waitForStatus(lee, 'lee', 'lab', 'gone');
  }
});
