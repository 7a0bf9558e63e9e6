import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { HubError } from '../src/api.js';
import { GroupsModel } from '../src/groups/model.js';
import { IdentityModel } from '../src/status/model.js';
import { FakeHub } from './fake-hub.js';

describe('GroupsModel', () => {
  let hub: FakeHub;
  let alice: GroupsModel;
  let bob: GroupsModel;

  beforeEach(() => {
    hub = new FakeHub().addUser('alice', 'bob', 'carol', 'albert');
    hub.addDomain('Astronomy', 'Sky surveys');
    alice = new GroupsModel(hub.clientFor('alice'), hub.clientFor('alice'));
    bob = new GroupsModel(hub.clientFor('bob'), hub.clientFor('bob'));
  });

  it('refresh loads me, my groups (sorted), invitations and domains, and signals', async () => {
    const c = hub.clientFor('alice');
    await c.createGroup('zeta', '');
    await c.createGroup('Alpha', '');
    let changes = 0;
    alice.changed.connect(() => changes++);
    assert.equal(alice.loaded, false);
    await alice.refresh();
    assert.equal(alice.user?.name, 'alice');
    assert.deepEqual(
      alice.groups.map((g) => g.name),
      ['Alpha', 'zeta'],
    );
    assert.equal(alice.domains.length, 1);
    assert.equal(alice.loaded, true);
    assert.equal(alice.loading, false);
    assert.ok(changes >= 2, 'emits when loading starts and ends');
  });

  it('createGroup makes me owner and opens the new group', async () => {
    await alice.refresh();
    const g = await alice.createGroup('  Survey team ', ' LSST ');
    assert.equal(g.name, 'Survey team');
    assert.equal(alice.groups[0]?.role, 'OWNER');
    assert.equal(String(alice.selectedId), String(g.id));
    assert.deepEqual(
      alice.selected?.members.map(({ name, role }) => ({ name, role })),
      [{ name: 'alice', role: 'OWNER' }],
    );
    assert.equal(alice.selected?.description, 'LSST');
  });

  it('refuses an empty group name or user name before asking the hub', async () => {
    const before = hub.calls.length;
    await assert.rejects(alice.createGroup('   '), (e: HubError) => e.error === 'invalid_input');
    await assert.rejects(alice.invite('1', ' '), (e: HubError) => e.status === 400);
    assert.equal(hub.calls.length, before);
  });

  it('invite → bob sees it → accepts → both see the membership; carol sees nothing', async () => {
    await alice.refresh();
    const g = await alice.createGroup('Survey', '');
    await alice.invite(g.id, 'bob', 'MEMBER');
    assert.deepEqual(
      alice.selected?.invitations.map((i) => [i.username, i.status]),
      [['bob', 'pending']],
      'the sent invitation shows in the open group',
    );

    await bob.refresh();
    assert.equal(bob.groups.length, 0);
    assert.equal(bob.invitations.length, 1);
    assert.equal(bob.invitations[0]?.group.name, 'Survey');
    assert.equal(bob.invitations[0]?.invited_by, 'alice');

    await bob.acceptInvitation(bob.invitations[0]!.id);
    assert.equal(bob.invitations.length, 0);
    assert.deepEqual(
      bob.groups.map((x) => [x.name, x.role, x.member_count]),
      [['Survey', 'MEMBER', 2]],
    );

    await alice.refresh();
    assert.deepEqual(alice.selected?.members.map((m) => m.name).sort(), ['alice', 'bob']);

    const carol = new GroupsModel(hub.clientFor('carol'), hub.clientFor('carol'));
    await carol.refresh();
    assert.equal(carol.groups.length, 0);
    assert.equal(carol.invitations.length, 0);
  });

  it('declining removes the invitation without joining', async () => {
    const g = await hub.clientFor('alice').createGroup('G', '');
    await hub.clientFor('alice').invite(g.id, 'bob', 'ADMIN');
    await bob.refresh();
    await bob.declineInvitation(bob.invitations[0]!.id);
    assert.equal(bob.invitations.length, 0);
    assert.equal(bob.groups.length, 0);
  });

  it('inviting an unknown user rejects with the hub message and changes nothing', async () => {
    await alice.refresh();
    const g = await alice.createGroup('G', '');
    await assert.rejects(alice.invite(g.id, 'zed', 'MEMBER'), (e: unknown) => {
      assert.ok(e instanceof HubError);
      assert.equal(e.status, 404);
      assert.equal(e.error, 'not_found');
      assert.equal(e.message, 'No user named "zed"');
      return true;
    });
    assert.equal(alice.selected?.invitations.length, 0);
  });

  it('promote, demote, remove and leave', async () => {
    const a = hub.clientFor('alice');
    const g = await a.createGroup('G', '');
    for (const u of ['bob', 'carol']) {
      await a.invite(g.id, u, 'MEMBER');
      const m = new GroupsModel(hub.clientFor(u), hub.clientFor(u));
      await m.refresh();
      await m.acceptInvitation(m.invitations[0]!.id);
    }
    await alice.refresh();
    await alice.select(g.id);
    await alice.setRole(g.id, 'bob', 'ADMIN');
    assert.equal(alice.selected?.members.find((m) => m.name === 'bob')?.role, 'ADMIN');
    await alice.setRole(g.id, 'bob', 'MEMBER');
    assert.equal(alice.selected?.members.find((m) => m.name === 'bob')?.role, 'MEMBER');
    await alice.removeMember(g.id, 'carol');
    assert.equal(alice.group(g.id)?.member_count, 2);

    await bob.refresh();
    await bob.select(g.id);
    await bob.leave(g.id);
    assert.equal(bob.groups.length, 0);
    assert.equal(bob.selectedId, null);
    assert.ok(hub.calls.includes(`bob removeMember ${g.id} bob`));
  });

  it('the owner cannot leave: the hub error comes back', async () => {
    await alice.refresh();
    const g = await alice.createGroup('G', '');
    await assert.rejects(alice.leave(g.id), /owner cannot leave/);
  });

  it('deleting the open group closes it', async () => {
    await alice.refresh();
    const g = await alice.createGroup('G', '');
    await alice.deleteGroup(g.id);
    assert.equal(alice.selectedId, null);
    assert.equal(alice.groups.length, 0);
  });

  it('select toggles, and a group that disappears is closed on refresh', async () => {
    const a = hub.clientFor('alice');
    const g = await a.createGroup('G', '');
    await alice.refresh();
    await alice.select(g.id);
    assert.equal(alice.selected?.name, 'G');
    await alice.select(g.id);
    assert.equal(alice.selectedId, null);
    await alice.select(g.id);
    hub.groups.delete(Number(g.id));
    await alice.refresh();
    assert.equal(alice.selectedId, null);
    assert.equal(alice.selected, null);
  });

  it('updateGroup renames', async () => {
    await alice.refresh();
    const g = await alice.createGroup('Old', '');
    await alice.updateGroup(g.id, { name: ' New ', description: 'd' });
    assert.equal(alice.group(g.id)?.name, 'New');
  });

  it('joins and leaves a science domain', async () => {
    await alice.refresh();
    const d = alice.domains[0]!;
    assert.equal(d.joined, false);
    await alice.joinDomain(d.id);
    assert.equal(alice.domains[0]?.joined, true);
    await alice.leaveDomain(d.id);
    assert.equal(alice.domains[0]?.joined, false);
  });

  it('a failed refresh keeps the error for the panel and the next success clears it', async () => {
    const client = hub.clientFor('alice');
    const model = new GroupsModel(client, client);
    client.failNext = new HubError(502, 'hub_unreachable', 'The Orrery hub cannot be reached.');
    await assert.rejects(model.refresh(), /cannot be reached/);
    assert.deepEqual(model.error, {
      status: 502,
      error: 'hub_unreachable',
      message: 'The Orrery hub cannot be reached.',
    });
    assert.equal(model.loading, false);
    await model.refresh();
    assert.equal(model.error, null);
  });

  it('completion offers matching users but not me nor current members', async () => {
    await alice.refresh();
    const g = await alice.createGroup('G', '');
    assert.deepEqual(await alice.completeUsernames('al', g.id), ['albert']);
    assert.deepEqual(await alice.completeUsernames('', g.id), []);
    assert.deepEqual(await alice.completeUsernames('b', g.id), ['bob']);
  });

  it('a platform admin viewing a group they are not in (role null) can neither manage nor leave it', () => {
    assert.equal(alice.canManage({ role: null }), false);
    assert.equal(alice.canLeave({ role: null }), false);
    assert.equal(alice.canLeave({ role: 'MEMBER' }), true);
  });

  it('permissions follow the roles', async () => {
    const a = hub.clientFor('alice');
    const g = await a.createGroup('G', '');
    await a.invite(g.id, 'bob', 'ADMIN');
    await a.invite(g.id, 'carol', 'MEMBER');
    for (const u of ['bob', 'carol']) {
      const m = new GroupsModel(hub.clientFor(u), hub.clientFor(u));
      await m.refresh();
      await m.acceptInvitation(m.invitations[0]!.id);
    }
    await bob.refresh();
    await bob.select(g.id);
    const detail = bob.selected!;
    const member = (n: string) => detail.members.find((m) => m.name === n)!;
    assert.equal(bob.canManage(detail), true);
    assert.equal(bob.canRemove(detail, member('carol')), true, 'admin removes a member');
    assert.equal(bob.canRemove(detail, member('alice')), false, 'nobody removes the owner');
    assert.equal(bob.canChangeRole(detail, member('bob')), false, 'not my own role');
    assert.equal(bob.canLeave(detail), true);
    await alice.refresh();
    assert.equal(alice.canLeave(alice.group(g.id)), false, 'the owner cannot leave');
  });
});

describe('IdentityModel (status bar)', () => {
  it('shows the user, or keeps the reason it cannot', async () => {
    const hub = new FakeHub().addUser('alice');
    const client = hub.clientFor('alice');
    const m = new IdentityModel(client);
    await m.refresh();
    assert.equal(m.user?.name, 'alice');
    client.failNext = new HubError(503, 'hub_not_configured', 'not connected');
    await m.refresh();
    assert.equal(m.user, null);
    assert.equal(m.error, 'not connected');
  });
});
