import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { HubError } from '../src/api.js';
import {
  canManage,
  ServerShareModel,
  SharedWithMeModel,
  serverShareeKey,
  shareeOfShare,
} from '../src/sharing/model.js';
import type {
  IServerShare,
  IServerShareCode,
  IServerShareCodeCreated,
  ISharesClient,
  ServerSharee,
} from '../src/tokens.js';
import { FakeHub } from './fake-hub.js';

const AT = '2026-01-01T00:00:00.000Z';

/** Shares of one hub in memory, with the hub's rules that the model relies on. */
class FakeShares implements ISharesClient {
  shares = new Map<string, IServerShare>();
  codes: IServerShareCode[] = [];
  calls: string[] = [];
  failNext: HubError | null = null;

  private check(call: string): void {
    this.calls.push(call);
    const fail = this.failNext;
    this.failNext = null;
    if (fail) throw fail;
  }

  private model(owner: string, server: string, sharee: ServerSharee, manage: boolean) {
    const full = `${owner}/${server}`;
    return {
      server: {
        name: server,
        full_name: full,
        user: { name: owner },
        url: `/user/${owner}/`,
        ready: true,
      },
      scopes: [`access:servers!server=${full}`, ...(manage ? [`servers!server=${full}`] : [])],
      kind: 'user' in sharee ? ('user' as const) : ('group' as const),
      user: 'user' in sharee ? { name: sharee.user } : null,
      group: 'group' in sharee ? { name: sharee.group } : null,
      created_at: AT,
    };
  }

  async listServerShares(owner: string, server: string) {
    this.check(`list ${owner}/${server}`);
    return [...this.shares.values()].filter((s) => s.server.full_name === `${owner}/${server}`);
  }
  async shareServer(owner: string, server: string, sharee: ServerSharee, manage: boolean) {
    this.check(`share ${owner}/${server} ${serverShareeKey(sharee)} ${manage}`);
    const made = this.model(owner, server, sharee, manage);
    this.shares.set(`${owner}/${server} ${serverShareeKey(sharee)}`, made);
    return made;
  }
  async unshareServer(owner: string, server: string, sharee: ServerSharee) {
    this.check(`unshare ${owner}/${server} ${serverShareeKey(sharee)}`);
    this.shares.delete(`${owner}/${server} ${serverShareeKey(sharee)}`);
  }
  async listServerShareCodes(owner: string, server: string) {
    this.check(`codes ${owner}/${server}`);
    return this.codes;
  }
  async createServerShareCode(owner: string, server: string, seconds: number, manage: boolean) {
    this.check(`code ${owner}/${server} ${seconds} ${manage}`);
    const code: IServerShareCode = {
      id: this.codes.length + 1,
      server: { name: server, full_name: `${owner}/${server}`, user: { name: owner } },
      scopes: [],
      created_at: AT,
      expires_at: AT,
      exchange_count: 0,
      last_exchanged_at: null,
    };
    this.codes.push(code);
    return {
      ...code,
      code: 'orrs_x',
      accept_url: 'http://hub/hub/accept-share?code=orrs_x',
    } as IServerShareCodeCreated;
  }
  async revokeServerShareCode(owner: string, server: string, id: number) {
    this.check(`revoke-code ${owner}/${server} ${id}`);
    this.codes = this.codes.filter((c) => c.id !== id);
  }
  async sharedWithMe(user: string) {
    this.check(`shared ${user}`);
    return [...this.shares.values()].filter((s) => s.user?.name === user);
  }
}

describe('ServerShareModel', () => {
  let hub: FakeHub;
  let shares: FakeShares;
  let model: ServerShareModel;

  beforeEach(async () => {
    hub = new FakeHub().addUser('alice', 'bob', 'bert', 'carol');
    shares = new FakeShares();
    const alice = hub.clientFor('alice');
    await alice.createGroup('observers', '');
    model = new ServerShareModel(shares, alice, alice, 'alice', '');
  });

  it('shares with a user or a group, with or without start/stop, and revokes', async () => {
    await model.refresh();
    await model.share({ user: 'bob' }, false);
    await model.share({ group: 'observers' }, true);
    assert.deepEqual(
      model.shares.map((s) => [serverShareeKey(shareeOfShare(s)), canManage(s)]),
      [
        ['user:bob', false],
        ['group:observers', true],
      ],
    );
    await model.revoke({ user: 'bob' });
    assert.deepEqual(
      model.shares.map((s) => serverShareeKey(shareeOfShare(s))),
      ['group:observers'],
    );
    assert.ok(shares.calls.includes('share alice/ user:bob false'));
  });

  it('completes users by prefix and my groups, leaving out the owner and who has a share', async () => {
    await model.share({ user: 'bob' }, false);
    const found = await model.candidates('be');
    assert.deepEqual(
      found.map((c) => c.label),
      ['bert'],
    );
    assert.deepEqual(
      (await model.candidates('obs')).map((c) => c.label),
      ['observers (group)'],
    );
    assert.deepEqual(
      (await model.candidates('al')).map((c) => c.label),
      [],
    );
    const candidates = await model.candidates('obs');
    assert.deepEqual(model.shareeOfText('observers (group)', candidates), { group: 'observers' });
    assert.deepEqual(model.shareeOfText(' bert ', []), { user: 'bert' });
  });

  it('refuses an empty name or the owner before asking the hub, and keeps the hub’s refusals', async () => {
    await assert.rejects(model.share({ user: '  ' }, false), /give a user or a group/);
    await assert.rejects(model.share({ user: 'alice' }, false), /yours already/);
    assert.equal(model.error?.status, 400);
    assert.ok(!shares.calls.some((c) => c.startsWith('share')));
    shares.failNext = new HubError(404, 'not_found', 'No user named "zed"');
    await assert.rejects(model.share({ user: 'zed' }, false));
    assert.equal(model.error?.message, 'No user named "zed"');
  });

  it('makes a code (kept to copy) and revokes it', async () => {
    const made = await model.createCode(3600, true);
    assert.equal(model.lastCode?.accept_url, made.accept_url);
    assert.equal(model.codes.length, 1);
    assert.ok(shares.calls.includes('code alice/ 3600 true'));
    await model.revokeCode(made.id);
    assert.equal(model.lastCode, null);
    assert.equal(model.codes.length, 0);
  });
});

describe('SharedWithMeModel', () => {
  it('lists what is shared with me and keeps a failure to show', async () => {
    const shares = new FakeShares();
    await shares.shareServer('alice', 'gpu', { user: 'bob' }, true);
    const model = new SharedWithMeModel(shares, 'bob');
    await model.refresh();
    assert.deepEqual(
      model.items.map((s) => s.server.full_name),
      ['alice/gpu'],
    );
    shares.failNext = new HubError(0, 'network_error', 'Could not reach the Jupyter server');
    await model.refresh();
    assert.equal(model.error?.error, 'network_error');
  });
});
