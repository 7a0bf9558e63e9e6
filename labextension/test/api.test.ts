import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServerConnection } from '@jupyterlab/services';
import { HubClient, HubError } from '../src/api.js';

interface Seen {
  url: string;
  method: string;
  body: string | null;
  contentType: string | null;
}

/** A HubClient whose fetch is answered by `answer`, recording each request. */
function clientWith(answer: (req: Request) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    seen.push({
      url: req.url,
      method: req.method,
      body: req.method === 'GET' || req.method === 'DELETE' ? null : await req.clone().text(),
      contentType: req.headers.get('Content-Type'),
    });
    return answer(req);
  };
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://lab.test/user/alice/',
    fetch: fetch as typeof globalThis.fetch,
  });
  return { client: new HubClient(settings), seen };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('HubClient (api.ts)', () => {
  it('calls the Jupyter server proxy under base_url, never the hub directly', async () => {
    const { client, seen } = clientWith(() => json(200, { groups: [] }));
    assert.deepEqual(await client.listGroups(), []);
    assert.equal(seen[0]?.url, 'http://lab.test/user/alice/orrery/hub/groups');
    assert.equal(seen[0]?.method, 'GET');
  });

  it('sends JSON bodies and encodes path segments and queries', async () => {
    const { client, seen } = clientWith(() => json(201, { id: 7 }));
    await client.invite('g/1', 'a b', 'ADMIN');
    assert.equal(seen[0]?.url, 'http://lab.test/user/alice/orrery/hub/groups/g%2F1/invitations');
    assert.equal(seen[0]?.method, 'POST');
    assert.deepEqual(JSON.parse(seen[0]?.body ?? ''), { username: 'a b', role: 'ADMIN' });
    assert.equal(seen[0]?.contentType, 'application/json');

    const s2 = clientWith(() => json(200, [{ kind: 'user', name: 'al' }]));
    assert.deepEqual(await s2.client.searchUsers('al&x', 5), [{ name: 'al' }]);
    assert.equal(
      s2.seen[0]?.url,
      'http://lab.test/user/alice/orrery/hub/users?prefix=al%26x&limit=5',
    );
  });

  it('maps each call to the documented method and path', async () => {
    const { client, seen } = clientWith((req) =>
      req.method === 'GET'
        ? json(200, { invitations: [], domains: [] })
        : new Response(null, { status: 204 }),
    );
    await client.acceptInvitation(3);
    await client.declineInvitation(4);
    await client.setMemberRole(1, 'bob', 'ADMIN');
    await client.removeMember(1, 'bob');
    await client.joinDomain('d1');
    await client.leaveDomain('d1');
    await client.updateGroup(1, { name: 'x' });
    await client.deleteGroup(1);
    assert.deepEqual(
      seen.map((s) => `${s.method} ${s.url.replace('http://lab.test/user/alice/orrery/hub/', '')}`),
      [
        'POST invitations/3/accept',
        'POST invitations/4/decline',
        'PATCH groups/1/members/bob',
        'DELETE groups/1/members/bob',
        'POST domains/d1/join',
        'POST domains/d1/leave',
        'PATCH groups/1',
        'DELETE groups/1',
      ],
    );
  });

  it('turns a hub error body into a HubError with status, code and message', async () => {
    const { client } = clientWith(() =>
      json(404, { error: 'not_found', message: 'No user named "zed"' }),
    );
    await assert.rejects(client.invite(1, 'zed', 'MEMBER'), (e: unknown) => {
      assert.ok(e instanceof HubError);
      assert.equal(e.status, 404);
      assert.equal(e.error, 'not_found');
      assert.equal(e.message, 'No user named "zed"');
      return true;
    });
  });

  it('still gives a readable HubError when the body is not the hub shape', async () => {
    const { client } = clientWith(
      () => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }),
    );
    await assert.rejects(client.currentUser(), (e: unknown) => {
      assert.ok(e instanceof HubError);
      assert.equal(e.status, 502);
      assert.equal(e.error, 'http_error');
      assert.match(e.message, /502/);
      return true;
    });
  });

  it('reports a network failure as status 0', async () => {
    const { client } = clientWith(() => {
      throw new TypeError('connection refused');
    });
    await assert.rejects(client.listDomains(), (e: unknown) => {
      assert.ok(e instanceof HubError);
      assert.equal(e.status, 0);
      assert.equal(e.error, 'network_error');
      return true;
    });
  });
});
