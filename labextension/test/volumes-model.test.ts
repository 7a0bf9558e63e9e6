import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { HubError } from '../src/api.js';
import { formatBytes, formatUsage } from '../src/volumes/format.js';
import { VolumesModel } from '../src/volumes/model.js';
import { mountPathOf, volumeOfPath } from '../src/volumes/paths.js';
import { ShareModel } from '../src/volumes/share-model.js';
import { UsageWatcher } from '../src/volumes/usage-watcher.js';
import { FakeHub } from './fake-hub.js';
import { ManualClock } from './manual-clock.js';

const GiB = 1024 ** 3;

function modelFor(hub: FakeHub, name: string): VolumesModel {
  return new VolumesModel(hub.files.clientFor(name), hub.clientFor(name));
}

describe('VolumesModel', () => {
  let hub: FakeHub;
  let alice: VolumesModel;

  beforeEach(() => {
    hub = new FakeHub().addUser('alice', 'bob', 'carol');
    alice = modelFor(hub, 'alice');
  });

  it('refresh lists my volumes per root (defaults included), shared ones and data volumes', async () => {
    const bob = hub.files.clientFor('bob');
    await bob.createVolume('Storage', 'survey');
    await bob.share({ root: 'Storage', owner: 'bob', volume: 'survey' }, { user: 'alice' }, 'read');
    await bob.createVolume('Storage', 'private');
    const sdss = hub.files.addDataVolume('sdss');
    sdss.shares.set('user:alice', 'read');
    let changes = 0;
    alice.changed.connect(() => changes++);
    await alice.refresh();
    assert.equal(alice.user?.name, 'alice');
    assert.deepEqual(alice.roots, ['Storage', 'Temporary']);
    assert.deepEqual(
      alice.mine('Storage').map((v) => v.volume),
      ['persistent'],
    );
    assert.deepEqual(
      alice.mine('Temporary').map((v) => v.volume),
      ['scratch'],
    );
    assert.deepEqual(
      alice.sharedWithMe.map((v) => `${v.owner}/${v.volume}:${v.read_only}`),
      ['bob/survey:true'],
    );
    assert.deepEqual(
      alice.dataVolumes.map((v) => v.volume),
      ['sdss'],
    );
    assert.equal(alice.loaded, true);
    assert.ok(changes >= 2, 'signals when loading starts and ends');
  });

  it('create, rename and describe a volume; the selection follows the rename', async () => {
    await alice.refresh();
    const made = await alice.createVolume('Storage', '  catalogs ', ' DR19 ');
    assert.equal(made.volume, 'catalogs');
    assert.equal(alice.selected?.volume, 'catalogs');
    assert.equal(alice.selected?.description, 'DR19');
    await alice.renameVolume({ root: 'Storage', owner: 'alice', volume: 'catalogs' }, 'dr19');
    assert.equal(alice.selected?.volume, 'dr19');
    await alice.describeVolume(alice.selected!, 'Data release 19');
    assert.deepEqual(
      alice.mine('Storage').map((v) => `${v.volume}:${v.description}`),
      ['dr19:Data release 19', 'persistent:'],
    );
  });

  it('refuses a bad volume name before asking the hub', async () => {
    await alice.refresh();
    const before = hub.calls.length;
    for (const bad of ['', '  ', '.hidden', 'a/b', 'x'.repeat(65), 'é']) {
      await assert.rejects(
        alice.createVolume('Storage', bad),
        (e: HubError) => e.status === 400 && e.error === 'invalid_input',
        bad,
      );
    }
    assert.equal(hub.calls.length, before);
  });

  it('passes the hub refusal through (a default volume cannot be deleted)', async () => {
    await alice.refresh();
    const persistent = { root: 'Storage', owner: 'alice', volume: 'persistent' };
    await assert.rejects(
      alice.deleteVolume(persistent),
      (e: HubError) => e.error === 'default_volume',
    );
    assert.ok(alice.find(persistent));
  });

  it('the deletion summary says who loses access and which codes stop', async () => {
    await alice.refresh();
    await alice.createVolume('Storage', 'shared');
    const ref = { root: 'Storage', owner: 'alice', volume: 'shared' };
    const client = hub.files.clientFor('alice');
    assert.match(await alice.deletionSummary(ref), /shared with nobody/);
    await client.share(ref, { user: 'bob' }, 'read');
    await client.createLink(ref, 24);
    const summary = await alice.deletionSummary(ref);
    assert.match(summary, /Storage\/alice\/shared/);
    assert.match(summary, /shared with bob; they lose access at once/);
    assert.match(summary, /1 live invite code stop/);
    assert.match(summary, /quarantine/);
    await alice.deleteVolume(ref);
    assert.equal(alice.find(ref), null);
    assert.equal(alice.selected, null);
    await modelFor(hub, 'bob').refresh();
    assert.equal(modelFor(hub, 'bob').sharedWithMe.length, 0);
  });

  it('keeps a failed refresh in error and clears it on the next success', async () => {
    hub.files.clientFor('alice');
    const failing = hub.files.clientFor('alice');
    const model = new VolumesModel(failing, hub.clientFor('alice'));
    failing.failNext = new HubError(502, 'bad_gateway', 'The hub is away');
    await assert.rejects(model.refresh());
    assert.equal(model.error?.message, 'The hub is away');
    assert.equal(model.loading, false);
    await model.refresh();
    assert.equal(model.error, null);
  });

  it('usage per root carries the 90% warning', async () => {
    hub.files.setUsed('alice', 'Storage', 9.5 * GiB);
    await alice.refresh();
    assert.equal(alice.usageOf('Storage')?.warning, true);
    assert.equal(alice.usageOf('Temporary')?.quota_bytes, null);
    assert.equal(formatUsage(alice.usageOf('Storage')!), '9.5 GiB of 10 GiB (95%)');
    assert.equal(formatUsage(alice.usageOf('Temporary')!), '0 B (no quota)');
  });
});

describe('ShareModel', () => {
  let hub: FakeHub;
  const ref = { root: 'Storage', owner: 'alice', volume: 'survey' };
  let share: ShareModel;

  beforeEach(async () => {
    hub = new FakeHub().addUser('alice', 'bob', 'bert', 'carol');
    await hub.files.clientFor('alice').createVolume('Storage', 'survey');
    share = new ShareModel(
      hub.files.clientFor('alice'),
      hub.clientFor('alice'),
      hub.clientFor('alice'),
      ref,
      'alice',
    );
    await share.refresh();
  });

  it('share read-only with bob: bob sees it read-only; revoke takes it away', async () => {
    await share.share({ user: ' bob ' }, 'read');
    assert.deepEqual(
      share.shares.map((s) => `${s.user}:${s.access}`),
      ['bob:read'],
    );
    const bob = modelFor(hub, 'bob');
    await bob.refresh();
    assert.equal(bob.sharedWithMe[0]?.read_only, true);
    assert.equal(bob.sharedWithMe[0]?.may_share, false);
    await share.share({ user: 'bob' }, 'read_write');
    assert.equal(share.shares[0]?.access, 'read_write');
    await share.revoke({ user: 'bob' });
    assert.equal(share.shares.length, 0);
    await bob.refresh();
    assert.equal(bob.sharedWithMe.length, 0);
  });

  it('shares with a group I am in; its members see the volume', async () => {
    const g = await hub.clientFor('alice').createGroup('Survey team', '');
    await hub.clientFor('alice').invite(g.id, 'carol', 'MEMBER');
    const inv = (await hub.clientFor('carol').listInvitations())[0]!;
    await hub.clientFor('carol').acceptInvitation(inv.id);
    const candidates = await share.candidates('sur');
    assert.deepEqual(candidates, [
      { kind: 'group', id: Number(g.id), name: 'Survey team', label: 'Survey team (group)' },
    ]);
    await share.share({ group: Number(g.id) }, 'read_write');
    assert.deepEqual(share.shares[0]?.group, { id: Number(g.id), name: 'Survey team' });
    const carol = modelFor(hub, 'carol');
    await carol.refresh();
    assert.equal(carol.sharedWithMe[0]?.read_only, false);
  });

  it('completion offers users by prefix, never me nor who has a share already', async () => {
    assert.deepEqual(
      (await share.candidates('b')).map((c) => c.label),
      ['bert', 'bob'],
    );
    await share.share({ user: 'bob' }, 'read');
    assert.deepEqual(
      (await share.candidates('b')).map((c) => c.label),
      ['bert'],
    );
    assert.deepEqual(await share.candidates('alice'), []);
    assert.deepEqual(await share.candidates(''), [], 'no user list without a prefix');
  });

  it('refuses an empty grantee or myself before asking the hub; keeps hub refusals', async () => {
    const before = hub.calls.length;
    await assert.rejects(share.share({ user: '  ' }, 'read'), (e: HubError) => e.status === 400);
    await assert.rejects(share.share({ user: 'alice' }, 'read'), (e: HubError) => e.status === 400);
    assert.equal(hub.calls.length, before);
    await assert.rejects(
      share.share({ user: 'nobody' }, 'read'),
      (e: HubError) => e.status === 404,
    );
    assert.equal(share.error?.message, 'No user nobody');
  });

  it('invite codes: make one (kept to copy), list it, redeem it, revoke it', async () => {
    await assert.rejects(share.createCode(0), (e: HubError) => e.status === 400);
    await assert.rejects(share.createCode(24 * 91), (e: HubError) => e.status === 400);
    const made = await share.createCode(48);
    assert.equal(share.lastCode?.code, made.code);
    assert.deepEqual(
      share.codes.map((l) => l.id),
      [made.id],
    );
    const redeemed = await hub.files.clientFor('carol').redeem(made.code);
    assert.equal(redeemed.read_only, true);
    await share.refresh();
    assert.deepEqual(
      share.shares.map((s) => `${s.user}:${s.access}`),
      ['carol:read'],
    );
    await share.revokeCode(made.id);
    assert.equal(share.codes.length, 0);
    assert.equal(share.lastCode, null);
  });

  it('someone without grant gets the hub 403 in error', async () => {
    await share.share({ user: 'bob' }, 'read_write');
    const asBob = new ShareModel(
      hub.files.clientFor('bob'),
      hub.clientFor('bob'),
      hub.clientFor('bob'),
      ref,
      'bob',
    );
    await assert.rejects(asBob.refresh(), (e: HubError) => e.status === 403);
    assert.equal(asBob.error?.status, 403);
  });
});

describe('UsageWatcher', () => {
  it('asks at start and every interval; turns to warning at 90%; keeps the last answer on failure', async () => {
    const hub = new FakeHub().addUser('alice');
    const client = hub.files.clientFor('alice');
    const clock = new ManualClock();
    const watcher = new UsageWatcher({
      client,
      user: 'alice',
      root: 'Storage',
      intervalSeconds: 60,
      clock,
    });
    hub.files.setUsed('alice', 'Storage', 1 * GiB);
    await watcher.start();
    assert.equal(watcher.usage?.used_bytes, GiB);
    assert.equal(watcher.warning, false);

    hub.files.setUsed('alice', 'Storage', 9 * GiB);
    await clock.advance(59_000);
    assert.equal(watcher.usage?.used_bytes, GiB, 'not asked before the interval');
    await clock.advance(1_000);
    assert.equal(watcher.usage?.percent, 90);
    assert.equal(watcher.warning, true);

    client.failNext = new HubError(0, 'network_error', 'away');
    await clock.advance(60_000);
    assert.equal(watcher.error, 'away');
    assert.equal(watcher.usage?.percent, 90, 'the last answer stays');

    const asked = hub.calls.filter((c) => c.startsWith('alice usage')).length;
    watcher.dispose();
    assert.equal(clock.pending, 0);
    await clock.advance(600_000);
    assert.equal(hub.calls.filter((c) => c.startsWith('alice usage')).length, asked);
  });
});

describe('volume paths', () => {
  it('maps a folder under volumes/<root>/<owner>/<volume> to its volume, nothing else', () => {
    assert.deepEqual(volumeOfPath('volumes/Storage/bob/survey'), {
      root: 'Storage',
      owner: 'bob',
      volume: 'survey',
    });
    assert.deepEqual(volumeOfPath('/volumes/Storage/bob/survey/raw/2026/'), {
      root: 'Storage',
      owner: 'bob',
      volume: 'survey',
    });
    for (const other of [
      '',
      'work',
      'volumes',
      'volumes/Storage',
      'volumes/Storage/bob',
      'work/volumes/Storage/bob/survey',
      'volumes/Storage/bob/../x/y',
      'RTC:volumes/Storage/bob/survey',
    ]) {
      assert.equal(volumeOfPath(other), null, other);
    }
    assert.equal(
      mountPathOf({ root: 'Data', owner: 'data', volume: 'sdss' }),
      'volumes/Data/data/sdss',
    );
  });

  it('formats bytes', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(10 * GiB), '10 GiB');
  });
});
