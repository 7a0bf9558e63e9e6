/**
 * The Volumes commands. Panel buttons, context menus (the panel's and the file browser's),
 * the Orrery menu and the palette all run these; arguments that are missing are asked for
 * in dialogs. Every failure is shown in an error dialog.
 */
import { Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { ask, confirm, pick, run } from '../dialogs.js';
import { CommandIDs, type IVolumeInfo, type IVolumeRef } from '../tokens.js';
import type { VolumesModel } from './model.js';
import { volumeLabel } from './paths.js';

export interface IVolumesCommandsOptions {
  commands: CommandRegistry;
  model: VolumesModel;
  trans: TranslationBundle;
  openPanel: () => void;
  /** Open the Share dialog of a volume. */
  share: (ref: IVolumeRef) => Promise<void>;
  /** `data-*` of the panel row a context menu was opened on (`{fromContextMenu: true}`). */
  contextArgs: () => ReadonlyPartialJSONObject;
  /** The volume of the folder selected in the file browser, if it is in one. */
  folderVolume: () => IVolumeRef | null;
}

function refOf(raw: ReadonlyPartialJSONObject): IVolumeRef | null {
  const { root, owner, volume } = raw;
  return typeof root === 'string' && typeof owner === 'string' && typeof volume === 'string'
    ? { root, owner, volume }
    : null;
}

export function registerVolumesCommands(options: IVolumesCommandsOptions): void {
  const { commands, model, trans } = options;

  /** The volume from the arguments, the context menu row, the selection, or a choice. */
  const volumeArg = async (
    raw: ReadonlyPartialJSONObject,
    filter: (v: IVolumeInfo) => boolean,
  ): Promise<IVolumeRef> => {
    const given = refOf(raw['fromContextMenu'] === true ? options.contextArgs() : raw);
    if (given) {
      return given;
    }
    if (!model.loaded) {
      await model.refresh();
    }
    const selected = model.selected;
    if (selected && filter(selected)) {
      return selected;
    }
    return pick(
      trans.__('Choose a volume'),
      model.volumes.filter(filter).map((v) => ({ label: volumeLabel(v), value: v as IVolumeRef })),
      trans.__('You have no volume for this action.'),
    );
  };
  const mine = (v: IVolumeInfo) => v.mine && v.kind === 'user';

  commands.addCommand(CommandIDs.openVolumes, {
    label: trans.__('Show Orrery Volumes'),
    caption: trans.__('Open the Orrery volumes panel'),
    execute: () => options.openPanel(),
  });

  commands.addCommand(CommandIDs.refreshVolumes, {
    label: trans.__('Refresh Orrery Volumes'),
    execute: () => run(trans.__('Could not load your volumes'), () => model.refresh()),
  });

  commands.addCommand(CommandIDs.createVolume, {
    label: trans.__('Create Orrery Volume…'),
    caption: trans.__('Create a volume of yours under a root volume (Storage, Temporary)'),
    execute: (raw) =>
      run(trans.__('Could not create the volume'), async () => {
        if (!model.loaded) {
          await model.refresh();
        }
        const root =
          typeof raw['root'] === 'string'
            ? raw['root']
            : await pick(
                trans.__('Create the volume under'),
                model.roots.map((r) => ({ label: r, value: r })),
                trans.__('The hub offers no root volume.'),
              );
        const name =
          typeof raw['name'] === 'string'
            ? raw['name']
            : await ask(trans.__('Create a volume in %1', root), trans.__('Volume name'));
        const description =
          typeof raw['description'] === 'string'
            ? raw['description']
            : await ask(
                trans.__('Create a volume in %1', root),
                trans.__('Description (optional)'),
              );
        const made = await model.createVolume(root, name, description);
        options.openPanel();
        Notification.success(trans.__('Volume %1 created.', volumeLabel(made)), {
          autoClose: 3000,
        });
      }),
  });

  commands.addCommand(CommandIDs.renameVolume, {
    label: trans.__('Rename Orrery Volume…'),
    execute: (raw) =>
      run(trans.__('Could not rename the volume'), async () => {
        const ref = await volumeArg(raw, mine);
        const name =
          typeof raw['name'] === 'string'
            ? raw['name']
            : await ask(trans.__('Rename %1', volumeLabel(ref)), trans.__('New name'), ref.volume);
        await model.renameVolume(ref, name);
      }),
  });

  commands.addCommand(CommandIDs.describeVolume, {
    label: trans.__('Describe Orrery Volume…'),
    execute: (raw) =>
      run(trans.__('Could not change the description'), async () => {
        const ref = await volumeArg(raw, mine);
        const description =
          typeof raw['description'] === 'string'
            ? raw['description']
            : await ask(
                trans.__('Describe %1', volumeLabel(ref)),
                trans.__('Description'),
                model.find(ref)?.description ?? '',
              );
        await model.describeVolume(ref, description);
      }),
  });

  commands.addCommand(CommandIDs.deleteVolume, {
    label: trans.__('Delete Orrery Volume…'),
    execute: (raw) =>
      run(trans.__('Could not delete the volume'), async () => {
        const ref = await volumeArg(raw, mine);
        await confirm(
          trans.__('Delete volume'),
          await model.deletionSummary(ref),
          trans.__('Delete'),
        );
        await model.deleteVolume(ref);
        Notification.success(trans.__('Volume %1 deleted.', volumeLabel(ref)), {
          autoClose: 3000,
        });
      }),
  });

  commands.addCommand(CommandIDs.shareVolume, {
    label: trans.__('Share Orrery Volume…'),
    caption: trans.__('Share a volume with users or groups, or make an invite code'),
    execute: (raw) =>
      run(trans.__('Could not share the volume'), async () => {
        await options.share(await volumeArg(raw, (v) => v.may_share));
      }),
  });

  // The file browser's context menu: only on a folder inside a volume's mount.
  commands.addCommand(CommandIDs.shareFolderVolume, {
    label: () => {
      const ref = options.folderVolume();
      return ref ? trans.__('Share Volume %1…', ref.volume) : trans.__('Share Volume…');
    },
    caption: trans.__('Share the Orrery volume this folder is in'),
    isVisible: () => options.folderVolume() !== null,
    isEnabled: () => {
      const ref = options.folderVolume();
      // Until the panel has loaded, let the hub decide; then only volumes I may share.
      return ref !== null && (!model.loaded || (model.find(ref)?.may_share ?? false));
    },
    execute: () =>
      run(trans.__('Could not share the volume'), async () => {
        const ref = options.folderVolume();
        if (ref) {
          await options.share(ref);
        }
      }),
  });

  commands.addCommand(CommandIDs.redeemVolumeCode, {
    label: trans.__('Redeem Orrery Volume Invite Code…'),
    execute: (raw) =>
      run(trans.__('Could not redeem the code'), async () => {
        const code =
          typeof raw['code'] === 'string'
            ? raw['code']
            : await ask(trans.__('Redeem an invite code'), trans.__('Invite code'));
        const got = await model.redeem(code);
        options.openPanel();
        Notification.success(trans.__('%1 is now shared with you (read-only).', volumeLabel(got)), {
          autoClose: 4000,
        });
      }),
  });
}

/** Commands shown in the palette under the "Orrery" category. */
export const PALETTE_COMMANDS: readonly CommandIDs[] = [
  CommandIDs.openVolumes,
  CommandIDs.refreshVolumes,
  CommandIDs.createVolume,
  CommandIDs.renameVolume,
  CommandIDs.describeVolume,
  CommandIDs.deleteVolume,
  CommandIDs.shareVolume,
  CommandIDs.redeemVolumeCode,
];
