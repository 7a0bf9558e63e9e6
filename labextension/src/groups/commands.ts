/**
 * The Groups commands. Panel buttons, context menus, the Orrery menu and the palette all
 * run these; arguments that are missing are asked for in dialogs. Every failure is shown
 * in an error dialog: nothing fails silently.
 */
import { Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { ask, confirm, pick as pickOne, run } from '../dialogs.js';
import { CommandIDs, type HubId, type IGroupCommandArgs, type InvitableRole } from '../tokens.js';
import type { GroupsModel } from './model.js';

export interface IGroupsCommandsOptions {
  commands: CommandRegistry;
  model: GroupsModel;
  trans: TranslationBundle;
  /** Opens the panel (the shell belongs to the plugin, not to the commands). */
  openPanel: () => void;
  /** The role the invite dialog proposes first. */
  defaultInviteRole: () => InvitableRole;
  /**
   * Arguments read from the panel row a context menu was opened on. Context-menu items
   * (declared in schema/groups.json) pass `{fromContextMenu: true}` so that commands know
   * to look there.
   */
  contextArgs: () => ReadonlyPartialJSONObject;
}

/** Read the command arguments, which may come from a context menu's data attributes. */
function argsOf(raw: ReadonlyPartialJSONObject): IGroupCommandArgs {
  const s = (k: string): string | undefined => {
    const v = raw[k];
    return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
  };
  const role = s('role');
  return {
    groupId: s('groupId'),
    username: s('username'),
    invitationId: s('invitationId'),
    domainId: s('domainId'),
    role: role === 'ADMIN' || role === 'MEMBER' ? role : undefined,
  };
}

export function registerGroupsCommands(options: IGroupsCommandsOptions): void {
  const { commands, model, trans } = options;
  const argsFrom = (raw: ReadonlyPartialJSONObject): IGroupCommandArgs =>
    argsOf(raw['fromContextMenu'] === true ? options.contextArgs() : raw);

  /** Groups always ask, even when there is only one to choose. */
  const pick = <T>(title: string, items: { label: string; value: T }[], emptyMessage: string) =>
    pickOne(title, items, emptyMessage, { alwaysAsk: true });

  /** The group from the arguments, else the selected one, else ask among `filter`ed groups. */
  const groupArg = async (
    a: IGroupCommandArgs,
    filter: (role: string) => boolean = () => true,
  ): Promise<HubId> => {
    if (a.groupId !== undefined) {
      return a.groupId;
    }
    if (model.selectedId !== null) {
      return model.selectedId;
    }
    if (!model.loaded) {
      await model.refresh();
    }
    return pick(
      trans.__('Choose a group'),
      model.groups.filter((g) => filter(g.role)).map((g) => ({ label: g.name, value: g.id })),
      trans.__('You have no group for this action.'),
    );
  };

  const memberArg = async (
    groupId: HubId,
    a: IGroupCommandArgs,
    filter: (role: string) => boolean,
  ): Promise<string> => {
    if (a.username) {
      return a.username;
    }
    const me = model.user?.name;
    if (!model.selected || String(model.selected.id) !== String(groupId)) {
      await model.select(groupId);
    }
    const detail = model.selected;
    return pick(
      trans.__('Choose a member'),
      (detail?.members ?? [])
        .filter((m) => m.name !== me && filter(m.role))
        .map((m) => ({ label: m.name, value: m.name })),
      trans.__('No member fits this action.'),
    );
  };

  const groupName = (id: HubId): string =>
    model.group(id)?.name ?? model.selected?.name ?? String(id);

  commands.addCommand(CommandIDs.openGroups, {
    label: trans.__('Show Orrery Groups'),
    caption: trans.__('Open the Orrery groups panel'),
    execute: () => options.openPanel(),
  });

  commands.addCommand(CommandIDs.refreshGroups, {
    label: trans.__('Refresh Orrery Groups'),
    execute: () => run(trans.__('Could not load your groups'), () => model.refresh()),
  });

  commands.addCommand(CommandIDs.createGroup, {
    label: trans.__('Create Orrery Group…'),
    caption: trans.__('Create a group that you own'),
    execute: (raw) =>
      run(trans.__('Could not create the group'), async () => {
        const name =
          typeof raw['name'] === 'string'
            ? raw['name']
            : await ask(trans.__('Create a group'), trans.__('Group name'));
        const description =
          typeof raw['description'] === 'string'
            ? raw['description']
            : await ask(trans.__('Create a group'), trans.__('Description (optional)'));
        const g = await model.createGroup(name, description);
        options.openPanel();
        Notification.success(trans.__('Group "%1" created.', g.name), { autoClose: 3000 });
      }),
  });

  commands.addCommand(CommandIDs.editGroup, {
    label: trans.__('Rename or Describe Orrery Group…'),
    execute: (raw) =>
      run(trans.__('Could not change the group'), async () => {
        const id = await groupArg(argsFrom(raw), (r) => r !== 'MEMBER');
        const current = model.group(id);
        const name = await ask(trans.__('Edit group'), trans.__('Name'), current?.name ?? '');
        const description = await ask(
          trans.__('Edit group'),
          trans.__('Description'),
          current?.description ?? '',
        );
        await model.updateGroup(id, { name, description });
      }),
  });

  commands.addCommand(CommandIDs.deleteGroup, {
    label: trans.__('Delete Orrery Group…'),
    execute: (raw) =>
      run(trans.__('Could not delete the group'), async () => {
        const id = await groupArg(argsFrom(raw), (r) => r === 'OWNER');
        await confirm(
          trans.__('Delete group'),
          trans.__('Delete "%1" for all its members? This cannot be undone.', groupName(id)),
          trans.__('Delete'),
        );
        await model.deleteGroup(id);
      }),
  });

  commands.addCommand(CommandIDs.leaveGroup, {
    label: trans.__('Leave Orrery Group…'),
    execute: (raw) =>
      run(trans.__('Could not leave the group'), async () => {
        const id = await groupArg(argsFrom(raw), (r) => r !== 'OWNER');
        await confirm(
          trans.__('Leave group'),
          trans.__('Leave "%1"? You will need a new invitation to come back.', groupName(id)),
          trans.__('Leave'),
        );
        await model.leave(id);
      }),
  });

  commands.addCommand(CommandIDs.inviteMember, {
    label: trans.__('Invite to Orrery Group…'),
    caption: trans.__('Invite a user into a group you manage'),
    execute: (raw) =>
      run(trans.__('Could not send the invitation'), async () => {
        const a = argsFrom(raw);
        const id = await groupArg(a, (r) => r !== 'MEMBER');
        const username = a.username ?? (await ask(trans.__('Invite'), trans.__('User name')));
        const first = options.defaultInviteRole();
        const roles: InvitableRole[] = [first, first === 'MEMBER' ? 'ADMIN' : 'MEMBER'];
        const role =
          a.role ??
          (await pick(
            trans.__('Role for %1', username),
            roles.map((r) => ({ label: r, value: r })),
            '',
          ));
        await model.invite(id, username, role);
        Notification.success(trans.__('Invited %1 to "%2".', username.trim(), groupName(id)), {
          autoClose: 3000,
        });
      }),
  });

  const invitationArg = async (a: IGroupCommandArgs): Promise<HubId> => {
    if (a.invitationId !== undefined) {
      return a.invitationId;
    }
    if (!model.loaded) {
      await model.refresh();
    }
    return pick(
      trans.__('Choose an invitation'),
      model.invitations.map((i) => ({
        label: trans.__('%1 (as %2, from %3)', i.group.name, i.role, i.invited_by),
        value: i.id,
      })),
      trans.__('You have no pending invitation.'),
    );
  };

  commands.addCommand(CommandIDs.acceptInvitation, {
    label: trans.__('Accept Orrery Invitation…'),
    execute: (raw) =>
      run(trans.__('Could not accept the invitation'), async () => {
        await model.acceptInvitation(await invitationArg(argsFrom(raw)));
      }),
  });

  commands.addCommand(CommandIDs.declineInvitation, {
    label: trans.__('Decline Orrery Invitation…'),
    execute: (raw) =>
      run(trans.__('Could not decline the invitation'), async () => {
        await model.declineInvitation(await invitationArg(argsFrom(raw)));
      }),
  });

  commands.addCommand(CommandIDs.promoteMember, {
    label: trans.__('Make Group Member an Admin…'),
    execute: (raw) =>
      run(trans.__('Could not change the role'), async () => {
        const a = argsFrom(raw);
        const id = await groupArg(a, (r) => r !== 'MEMBER');
        const user = await memberArg(id, a, (r) => r === 'MEMBER');
        await model.setRole(id, user, 'ADMIN');
      }),
  });

  commands.addCommand(CommandIDs.demoteMember, {
    label: trans.__('Make Group Admin a Member…'),
    execute: (raw) =>
      run(trans.__('Could not change the role'), async () => {
        const a = argsFrom(raw);
        const id = await groupArg(a, (r) => r !== 'MEMBER');
        const user = await memberArg(id, a, (r) => r === 'ADMIN');
        await model.setRole(id, user, 'MEMBER');
      }),
  });

  commands.addCommand(CommandIDs.removeMember, {
    label: trans.__('Remove Member from Orrery Group…'),
    execute: (raw) =>
      run(trans.__('Could not remove the member'), async () => {
        const a = argsFrom(raw);
        const id = await groupArg(a, (r) => r !== 'MEMBER');
        const user = await memberArg(id, a, (r) => r !== 'OWNER');
        await confirm(
          trans.__('Remove member'),
          trans.__('Remove %1 from "%2"?', user, groupName(id)),
          trans.__('Remove'),
        );
        await model.removeMember(id, user);
      }),
  });

  const domainArg = async (a: IGroupCommandArgs, joined: boolean): Promise<HubId> => {
    if (a.domainId !== undefined) {
      return a.domainId;
    }
    if (!model.loaded) {
      await model.refresh();
    }
    return pick(
      joined ? trans.__('Leave which domain?') : trans.__('Join which domain?'),
      model.domains.filter((d) => d.joined === joined).map((d) => ({ label: d.name, value: d.id })),
      joined
        ? trans.__('You have joined no science domain.')
        : trans.__('There is no science domain left to join.'),
    );
  };

  commands.addCommand(CommandIDs.joinDomain, {
    label: trans.__('Join Science Domain…'),
    execute: (raw) =>
      run(trans.__('Could not join the domain'), async () => {
        await model.joinDomain(await domainArg(argsFrom(raw), false));
      }),
  });

  commands.addCommand(CommandIDs.leaveDomain, {
    label: trans.__('Leave Science Domain…'),
    execute: (raw) =>
      run(trans.__('Could not leave the domain'), async () => {
        await model.leaveDomain(await domainArg(argsFrom(raw), true));
      }),
  });
}

/** Commands shown in the palette under the "Orrery" category. */
export const PALETTE_COMMANDS: readonly CommandIDs[] = [
  CommandIDs.openGroups,
  CommandIDs.refreshGroups,
  CommandIDs.createGroup,
  CommandIDs.editGroup,
  CommandIDs.deleteGroup,
  CommandIDs.leaveGroup,
  CommandIDs.inviteMember,
  CommandIDs.acceptInvitation,
  CommandIDs.declineInvitation,
  CommandIDs.promoteMember,
  CommandIDs.demoteMember,
  CommandIDs.removeMember,
  CommandIDs.joinDomain,
  CommandIDs.leaveDomain,
];
