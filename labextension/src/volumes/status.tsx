/**
 * The status-bar item "Storage: 1.2 GiB of 10 GiB (12%)", amber from 90% of the quota on.
 * Clicking it opens the Volumes panel.
 */
import { TextItem } from '@jupyterlab/statusbar';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';
import { formatUsage } from './format.js';
import type { UsageWatcher } from './usage-watcher.js';

export class StorageStatus extends ReactWidget {
  constructor(
    private watcher: UsageWatcher,
    private readonly trans: TranslationBundle,
    private readonly onClick: () => void,
  ) {
    super();
    this.addClass('jp-OrreryStorageStatus');
    this.node.addEventListener('click', () => this.onClick());
  }

  /** Show another watcher's answers (after a settings change restarted it). */
  setWatcher(watcher: UsageWatcher): void {
    this.watcher = watcher;
    this.update();
  }

  protected render(): React.ReactElement {
    return (
      <UseSignal signal={this.watcher.changed}>
        {() => {
          const { usage, error, warning } = this.watcher;
          this.toggleClass('jp-mod-warning', warning);
          this.node.dataset.warning = String(warning);
          const text = usage
            ? this.trans.__('%1: %2', usage.root, formatUsage(usage))
            : this.trans.__('Storage: …');
          const title = warning
            ? this.trans.__('Over 90 percent of your quota: free some space or ask for more.')
            : (error ?? this.trans.__('Your usage; click for your volumes.'));
          return <TextItem source={text} title={title} />;
        }}
      </UseSignal>
    );
  }
}
