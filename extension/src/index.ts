import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { refreshIcon } from '@jupyterlab/ui-components';

import { LakebookClient } from './api';
import { requestAPI } from './handler';
import { lakebookIcon } from './icons';
import { DEFAULT_REFRESH_INTERVAL, LakebookModel } from './model';
import { LakebookPanel } from './panel';

export { LakebookClient, LakebookModel, LakebookPanel };
export * from './api';
export { LakebookSection } from './sections/base';

const PLUGIN_ID = 'lakebook:plugin';

/**
 * Command ids.
 */
export namespace CommandIDs {
  export const open = 'lakebook:open';
  export const refresh = 'lakebook:refresh';
}

/**
 * The Lakebook sidebar.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'The Lakebook sidebar: the lakehouse at a glance.',
  autoStart: true,
  requires: [ILabShell],
  optional: [ILayoutRestorer, ISettingRegistry, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null
  ): void => {
    const client = new LakebookClient((endPoint, init) =>
      requestAPI(endPoint, init)
    );
    const model = new LakebookModel({
      fetchStatus: () => client.status(),
      refreshInterval: DEFAULT_REFRESH_INTERVAL
    });
    const panel = new LakebookPanel({ model });
    labShell.add(panel, 'left', { rank: 850, type: 'Lakebook' });
    if (restorer) {
      restorer.add(panel, LakebookPanel.ID);
    }

    app.commands.addCommand(CommandIDs.open, {
      label: 'Open the Lakebook Panel',
      caption: 'Show the Lakebook sidebar',
      icon: lakebookIcon,
      execute: () => {
        labShell.activateById(panel.id);
      }
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Lakebook',
      caption: 'Fetch the Lakebook status again',
      icon: refreshIcon,
      execute: () => model.refresh()
    });
    if (palette) {
      for (const command of [CommandIDs.open, CommandIDs.refresh]) {
        palette.addItem({ command, category: 'Lakebook' });
      }
    }

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = () => {
            model.refreshInterval = LakebookModel.normalizeInterval(
              settings.get('refreshInterval').composite
            );
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(reason => {
          console.error('Lakebook: failed to load settings.', reason);
        });
    }
  }
};

export default plugin;
