/**
 * The Volumes sidebar: per root volume a usage meter and my volumes, then the volumes shared
 * with me and the data volumes. It renders the model and runs commands; it makes no request
 * of its own.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import {
  addIcon,
  deleteIcon,
  editIcon,
  LabIcon,
  ReactWidget,
  refreshIcon,
  shareIcon,
  ToolbarButtonComponent,
  UseSignal,
} from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';
import { CommandIDs, type IRootUsage, type IVolumeInfo } from '../tokens.js';
import { formatUsage } from './format.js';
import type { VolumesModel } from './model.js';
import { mountPathOf } from './paths.js';

const VOLUMES_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
  '<g class="jp-icon3" fill="#616161">' +
  '<ellipse cx="12" cy="5.5" rx="8" ry="3"/>' +
  '<path d="M4 8v4.5c0 1.7 3.6 3 8 3s8-1.3 8-3V8c-1.6 1.3-4.7 2-8 2s-6.4-.7-8-2z"/>' +
  '<path d="M4 15v3.5c0 1.7 3.6 3 8 3s8-1.3 8-3V15c-1.6 1.3-4.7 2-8 2s-6.4-.7-8-2z"/>' +
  '</g></svg>';

export const volumesIcon = new LabIcon({ name: 'orrery:volumes', svgstr: VOLUMES_SVG });

export interface IVolumesPanelOptions {
  model: VolumesModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
}

export class VolumesPanel extends ReactWidget {
  constructor(private readonly options: IVolumesPanelOptions) {
    super();
    this.id = 'orrery-volumes';
    this.addClass('jp-OrreryVolumes');
    this.title.icon = volumesIcon;
    this.title.caption = options.trans.__('Orrery Volumes');
  }

  protected render(): React.ReactElement {
    return (
      <UseSignal signal={this.options.model.changed}>
        {() => <VolumesView {...this.options} />}
      </UseSignal>
    );
  }
}

type Exec = (id: CommandIDs, args?: Record<string, string>) => void;

function VolumesView(props: IVolumesPanelOptions): React.ReactElement {
  const { model, commands, trans } = props;
  const exec: Exec = (id, args = {}) => {
    void commands.execute(id, args);
  };
  const shared = model.sharedWithMe;
  const data = model.dataVolumes;
  return (
    <div className="jp-OrreryGroups-body">
      <header className="jp-OrreryGroups-header">
        <h2 className="jp-OrreryGroups-title">{trans.__('Volumes')}</h2>
        <ToolbarButtonComponent
          icon={addIcon}
          tooltip={trans.__('Create a volume')}
          onClick={() => exec(CommandIDs.createVolume)}
          dataset={{ 'data-testid': 'orrery-create-volume' }}
        />
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip={trans.__('Refresh')}
          enabled={!model.loading}
          onClick={() => exec(CommandIDs.refreshVolumes)}
        />
      </header>
      {model.error && (
        <div className="jp-OrreryGroups-error" role="alert">
          {model.error.message}
        </div>
      )}
      {!model.loaded && !model.error && (
        <div className="jp-OrreryGroups-empty">{trans.__('Loading…')}</div>
      )}
      {model.loaded &&
        model.roots.map((root) => (
          <section className="jp-OrreryGroups-section" data-section={`root-${root}`} key={root}>
            <h3 className="jp-OrreryGroups-sectionTitle">
              {root} <span className="jp-OrreryGroups-count">{model.mine(root).length}</span>
            </h3>
            <UsageMeter usage={model.usageOf(root)} trans={trans} />
            <ul className="jp-OrreryGroups-list">
              {model.mine(root).map((v) => (
                <VolumeRow key={v.volume} volume={v} exec={exec} trans={trans} model={model} />
              ))}
            </ul>
          </section>
        ))}
      {model.loaded && (
        <section className="jp-OrreryGroups-section" data-section="shared">
          <h3 className="jp-OrreryGroups-sectionTitle">
            {trans.__('Shared with me')}{' '}
            <span className="jp-OrreryGroups-count">{shared.length}</span>
          </h3>
          <ul className="jp-OrreryGroups-list">
            {shared.length === 0 && (
              <li className="jp-OrreryGroups-empty">
                {trans.__('Nobody shares a volume with you yet.')}
              </li>
            )}
            {shared.map((v) => (
              <VolumeRow
                key={`${v.root}/${v.owner}/${v.volume}`}
                volume={v}
                exec={exec}
                trans={trans}
                model={model}
              />
            ))}
          </ul>
        </section>
      )}
      {model.loaded && data.length > 0 && (
        <section className="jp-OrreryGroups-section" data-section="data">
          <h3 className="jp-OrreryGroups-sectionTitle">
            {trans.__('Data volumes')} <span className="jp-OrreryGroups-count">{data.length}</span>
          </h3>
          <ul className="jp-OrreryGroups-list">
            {data.map((v) => (
              <VolumeRow key={v.volume} volume={v} exec={exec} trans={trans} model={model} />
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}

/** Used against quota as a bar; amber from the hub's 90% warning on. */
export function UsageMeter(props: {
  usage: IRootUsage | null;
  trans: TranslationBundle;
}): React.ReactElement | null {
  const { usage, trans } = props;
  if (!usage) {
    return null;
  }
  const percent = usage.percent ?? 0;
  const text = formatUsage(usage);
  return (
    <div
      className={`jp-OrreryVolumes-usage${usage.warning ? ' jp-mod-warning' : ''}`}
      data-testid={`orrery-usage-${usage.root}`}
      data-warning={String(usage.warning)}
      title={usage.warning ? trans.__('%1: over 90 percent of your quota', text) : text}
    >
      {usage.quota_bytes !== null && (
        // Native meter: above `high` (the hub's 90% warning) the browser draws it amber.
        <meter
          className="jp-OrreryVolumes-meter"
          min={0}
          max={100}
          low={0}
          high={90}
          optimum={0}
          value={Math.min(percent, 100)}
          aria-label={trans.__('%1 used', usage.root)}
        />
      )}
      <div className="jp-OrreryGroups-meta">{text}</div>
    </div>
  );
}

function VolumeRow(props: {
  volume: IVolumeInfo;
  model: VolumesModel;
  exec: Exec;
  trans: TranslationBundle;
}): React.ReactElement {
  const { volume: v, model, exec, trans } = props;
  const args = { root: v.root, owner: v.owner, volume: v.volume };
  const selected = model.selected;
  const isSelected =
    !!selected &&
    selected.root === v.root &&
    selected.owner === v.owner &&
    selected.volume === v.volume;
  const access =
    v.kind === 'data'
      ? trans.__('data')
      : v.read_only
        ? trans.__('read-only')
        : trans.__('read-write');
  return (
    <li
      className={`jp-OrreryGroups-item jp-OrreryVolumes-volume jp-OrreryVolumes-contextTarget${isSelected ? ' jp-mod-selected' : ''}`}
      data-root={v.root}
      data-owner={v.owner}
      data-volume={v.volume}
      data-mine={String(v.mine)}
      data-may-share={String(v.may_share)}
      title={mountPathOf(v)}
    >
      <div className="jp-OrreryGroups-itemMain">
        <button type="button" className="jp-OrreryVolumes-select" onClick={() => model.select(v)}>
          <span className="jp-OrreryGroups-name">
            {v.mine ? v.volume : `${v.owner}/${v.volume}`}
          </span>
        </button>
        {!v.mine && (
          <span className="jp-OrreryGroups-badge jp-OrreryGroups-badge-role">{access}</span>
        )}
        <span className="jp-OrreryVolumes-actions">
          {v.may_share && (
            <ToolbarButtonComponent
              icon={shareIcon}
              tooltip={trans.__('Share %1…', v.volume)}
              onClick={() => exec(CommandIDs.shareVolume, args)}
              dataset={{ 'data-testid': 'orrery-share-volume' }}
            />
          )}
          {v.mine && (
            <ToolbarButtonComponent
              icon={editIcon}
              tooltip={trans.__('Rename %1…', v.volume)}
              onClick={() => exec(CommandIDs.renameVolume, args)}
            />
          )}
          {v.mine && (
            <ToolbarButtonComponent
              icon={deleteIcon}
              tooltip={trans.__('Delete %1…', v.volume)}
              onClick={() => exec(CommandIDs.deleteVolume, args)}
              dataset={{ 'data-testid': 'orrery-delete-volume' }}
            />
          )}
        </span>
      </div>
      {v.description && <div className="jp-OrreryGroups-meta">{v.description}</div>}
    </li>
  );
}
