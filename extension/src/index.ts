import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  Notification,
  WidgetTracker
} from '@jupyterlab/apputils';
import { PageConfig, PathExt } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { refreshIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { LakebookClient } from './api';
import { setupCellActions } from './cellactions';
import { IMonitor, IRun } from './endpoints';
import { requestAPI, requestText } from './handler';
import { lakebookIcon } from './icons';
import { describe } from './json';
import { DEFAULT_REFRESH_INTERVAL, LakebookModel, ResourceModel } from './model';
import { LakebookPanel } from './panel';
import { DeploymentsSection } from './sections/deployments';
import { FeatureGroupsSection } from './sections/features';
import { ModelsSection } from './sections/models';
import { IMonitoringState, MonitoringSection } from './sections/monitoring';
import { NotebookSection, NotebookStepsModel } from './sections/notebook';
import { IPipelinesState, PipelinesSection, hasActiveRuns } from './sections/runs';
import { ISidebarServices } from './sections/services';
import { ModelCompareView } from './widgets/compare';
import { FeatureGroupView } from './widgets/featuregroup';
import { LineageView } from './widgets/lineage';
import { BusinessView } from './widgets/business';
import { ReportView } from './widgets/report';
import { RunOutputView } from './widgets/runoutput';

export { LakebookClient, LakebookModel, LakebookPanel, ResourceModel };
export * from './api';
export { LakebookSection } from './sections/base';

const PLUGIN_ID = 'lakebook:plugin';

/**
 * Command ids.
 */
export namespace CommandIDs {
  export const open = 'lakebook:open';
  export const refresh = 'lakebook:refresh';
  export const openFeatureGroup = 'lakebook:open-feature-group';
  export const compareModel = 'lakebook:compare-model';
  // Used by notebook views too (`data-commandlinker-command` on the monitor widget's link).
  export const openReport = 'lakebook:open-report';
  export const openLineage = 'lakebook:open-lineage';
}

/**
 * The path of `absolute` relative to the server root, or null when it lies
 * outside (then the file cannot be opened through the contents API).
 */
export function serverRelative(absolute: string, serverRoot: string): string | null {
  const root = serverRoot.replace(/[\\/]+$/, '');
  if (!root || !absolute.startsWith(`${root}/`)) {
    return null;
  }
  return absolute.slice(root.length + 1);
}

/**
 * Whether a path has a hidden component (`.lakebook/runs/...`).
 */
export function isHidden(path: string): boolean {
  return path.split('/').some(part => part.startsWith('.'));
}

/**
 * The Lakebook sidebar and cell actions.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'The Lakebook sidebar: the lakehouse at a glance, and cells marked with a click.',
  autoStart: true,
  requires: [ILabShell],
  optional: [
    ILayoutRestorer,
    ISettingRegistry,
    ICommandPalette,
    INotebookTracker,
    IDocumentManager,
    IRenderMimeRegistry
  ],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null,
    docManager: IDocumentManager | null,
    rendermime: IRenderMimeRegistry | null
  ): void => {
    const client = new LakebookClient(
      (endPoint, init) => requestAPI(endPoint, init),
      endPoint => requestText(endPoint)
    );
    const serverRoot = PageConfig.getOption('serverRoot');
    const interval = DEFAULT_REFRESH_INTERVAL;

    // -- models: one per section, each polling only while its section shows --
    const model = new LakebookModel({ fetchStatus: () => client.status(), refreshInterval: interval });
    const notebookModel = new NotebookStepsModel({ client, refreshInterval: interval });
    const pipelinesModel = new ResourceModel<IPipelinesState>({
      name: 'lakebook:pipelines',
      refreshInterval: interval,
      fetch: async () => {
        const [schedules, runs, pipelines] = await Promise.all([
          client.schedules(),
          client.runs(30),
          // Named pipelines are optional: a server without the endpoint still lists runs.
          client.pipelines().catch(() => null)
        ]);
        return { schedules, runs, pipelines };
      },
      fastWhile: hasActiveRuns
    });
    const featuresModel = new ResourceModel({
      name: 'lakebook:features',
      refreshInterval: interval,
      fetch: () => client.featureGroups()
    });
    const modelsModel = new ResourceModel({
      name: 'lakebook:models',
      refreshInterval: interval,
      fetch: () => client.models()
    });
    const deploymentsModel = new ResourceModel({
      name: 'lakebook:deployments',
      refreshInterval: interval,
      fetch: () => client.deployments()
    });
    const monitoringModel = new ResourceModel<IMonitoringState>({
      name: 'lakebook:monitoring',
      refreshInterval: interval,
      fetch: async () => {
        const monitors = await client.monitors();
        // Alerts are optional: a server without the endpoint still lists monitors.
        const alerts = await client.alerts().catch(() => null);
        return { monitors, alerts };
      }
    });
    const models: ResourceModel<any>[] = [
      model,
      notebookModel,
      pipelinesModel,
      featuresModel,
      modelsModel,
      deploymentsModel,
      monitoringModel
    ];

    // -- main-area widgets ------------------------------------------------------
    const views = new WidgetTracker<MainAreaWidget<Widget>>({ namespace: 'lakebook-views' });
    const show = (widget: MainAreaWidget<Widget>) => {
      const existing = views.find(w => w.id === widget.id);
      if (existing) {
        widget.dispose();
        labShell.activateById(existing.id);
        return;
      }
      void views.add(widget);
      labShell.add(widget, 'main');
      labShell.activateById(widget.id);
    };

    let panel: LakebookPanel;
    const services: ISidebarServices = {
      client,
      openFeatureGroup: name => show(FeatureGroupView.create({ client, name })),
      openBusiness: name => show(BusinessView.create({ client, rendermime, name })),
      compareModel: name => show(ModelCompareView.create({ client, name })),
      openReport: (monitor: IMonitor) => {
        if (!monitor.reportPath) {
          return;
        }
        show(
          ReportView.create({
            client,
            path: monitor.reportPath,
            label: `${monitor.name} (drift report)`
          })
        );
      },
      openRunOutput: async (run: IRun) => {
        if (!run.outputPath) {
          return;
        }
        const relative = serverRelative(run.outputPath, serverRoot);
        try {
          // Files under hidden folders (the lakehouse home is often
          // `.lakebook`) are not served by the contents API: those, and files
          // outside the server root, are shown from the run's REST record.
          if (relative !== null && docManager && !isHidden(relative)) {
            const widget = docManager.openOrReveal(relative);
            if (widget instanceof NotebookPanel) {
              await widget.context.ready;
              markReadOnly(widget, run);
            }
            return;
          }
          if (!rendermime) {
            throw new Error('No renderer is available to show the executed notebook.');
          }
          const output = await client.runOutput(run.id);
          show(RunOutputView.create(output, rendermime, `${run.label} (run ${run.status})`));
        } catch (reason) {
          Notification.error(`Could not open the output of ${run.label}: ${describe(reason)}`, {
            autoClose: 8000
          });
        }
      },
      openLineage: (target, label) => {
        show(
          LineageView.create({
            client,
            target,
            label,
            onOpen: (action, node) => {
              switch (action.type) {
                case 'featureGroup':
                  services.openFeatureGroup(action.name);
                  break;
                case 'model':
                  services.compareModel(action.name);
                  break;
                case 'run':
                  void client.run(action.id).then(run => services.openRunOutput(run));
                  break;
                case 'monitor':
                  void client.monitors().then(monitors => {
                    const m = monitors.find(x => x.name === action.name);
                    if (m && m.reportPath) {
                      services.openReport(m);
                    } else {
                      services.notify(`Monitor ${action.name} has no report yet.`, 'info');
                    }
                  });
                  break;
                case 'business':
                  services.openBusiness?.(action.deployment);
                  break;
                case 'focus':
                  services.openLineage?.(
                    { kind: action.kind, name: action.name, version: action.version },
                    action.version ? `${action.name} v${action.version}` : action.name
                  );
                  break;
                default:
                  services.notify(
                    `${node.sublabel} of ${node.label}: clear "collapse old versions" to show them.`,
                    'info'
                  );
              }
            }
          })
        );
      },
      refreshAll: () => panel.refreshAll(),
      notify: (message, type) => {
        Notification.emit(message, type, { autoClose: type === 'error' ? 8000 : 4000 });
      }
    };

    // -- the panel ----------------------------------------------------------------
    panel = new LakebookPanel({ model });
    const sections = [
      new NotebookSection({
        model: notebookModel,
        services,
        actions: {
          saveIfDirty: async () => {
            const current = notebooks?.currentWidget;
            if (current && current.context.model.dirty) {
              await current.context.save();
            }
          },
          isDirty: () => notebooks?.currentWidget?.context.model.dirty ?? false
        }
      }),
      new PipelinesSection({ model: pipelinesModel, services }),
      new FeatureGroupsSection({ model: featuresModel, services }),
      new ModelsSection({ model: modelsModel, services }),
      new DeploymentsSection({ model: deploymentsModel, services }),
      new MonitoringSection({ model: monitoringModel, services })
    ];
    sections.forEach((section, i) => panel.addSection(section, i));
    const notebookSection = sections[0];
    // The overview (added by the panel) comes last and starts collapsed: each
    // section's header already shows its count, so the lists get the room.
    panel.collapseSection(sections.length);
    panel.setRelativeSizes([1.2, 1.5, 1, 1.1, 1, 1, 0.01]);
    labShell.add(panel, 'left', { rank: 850, type: 'Lakebook' });
    if (restorer) {
      restorer.add(panel, LakebookPanel.ID);
    }
    // The shell restores the sections' saved sizes after the plugins start.
    void app.restored.then(() => requestAnimationFrame(() => panel.ensureRoom()));

    // -- follow the active notebook --------------------------------------------------
    if (notebooks) {
      const follow = () => {
        const current = notebooks.currentWidget;
        notebookModel.path = current ? current.context.path : null;
      };
      notebooks.currentChanged.connect(follow);
      notebooks.widgetAdded.connect((_, nb) => {
        // Steps are read from the saved file: refresh after each save.
        nb.context.saveState.connect((_, state) => {
          if (state === 'completed' && notebooks.currentWidget === nb) {
            void notebookModel.refresh();
          }
        });
        nb.context.pathChanged.connect(follow);
        // Show or hide the "unsaved changes" hint.
        nb.context.model.stateChanged.connect((_, change) => {
          if (change.name === 'dirty' && notebooks.currentWidget === nb) {
            notebookSection.update();
          }
        });
      });
      follow();
      setupCellActions(app, notebooks);
    }

    // -- commands -----------------------------------------------------------------------
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
      caption: 'Fetch the state of the lakehouse again',
      icon: refreshIcon,
      execute: () => panel.refreshAll()
    });
    app.commands.addCommand(CommandIDs.openFeatureGroup, {
      label: args => `Open Feature Group ${(args.name as string) ?? ''}`.trim(),
      execute: args => services.openFeatureGroup(String(args.name ?? ''))
    });
    app.commands.addCommand(CommandIDs.compareModel, {
      label: args => `Compare Versions of ${(args.name as string) ?? 'a Model'}`,
      execute: args => services.compareModel(String(args.name ?? ''))
    });
    app.commands.addCommand(CommandIDs.openReport, {
      label: args => `Open the Drift Report of ${(args.monitor as string) ?? 'a Monitor'}`,
      execute: args => {
        const url = String(args.url ?? '');
        services.openReport({
          name: String(args.monitor ?? ''),
          // the server-relative report URL, as the monitors endpoint gives it
          reportPath: url.replace(/^(.*\/)?lakebook\/api\//, '') || null
        } as IMonitor);
      }
    });
    app.commands.addCommand(CommandIDs.openLineage, {
      label: args => (args.name ? `Open the Lineage of ${args.name as string}` : 'Open the Lakehouse Lineage'),
      caption: 'A layered graph of what was made from what',
      execute: args => {
        const name = args.name ? String(args.name) : null;
        services.openLineage?.(
          name
            ? {
                kind: args.kind ? String(args.kind) : undefined,
                name,
                version: args.version ? String(args.version) : null
              }
            : null,
          name ?? 'the lakehouse'
        );
      }
    });
    if (palette) {
      for (const command of [CommandIDs.open, CommandIDs.refresh, CommandIDs.openLineage]) {
        palette.addItem({ command, category: 'Lakebook' });
      }
    }

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = () => {
            const seconds = LakebookModel.normalizeInterval(
              settings.get('refreshInterval').composite
            );
            for (const m of models) {
              m.refreshInterval = seconds;
            }
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

/**
 * An executed notebook is a record: show it without letting it be edited.
 */
function markReadOnly(panel: NotebookPanel, run: IRun): void {
  panel.title.label = `${PathExt.basename(panel.context.path)} (run ${run.status})`;
  panel.title.caption = `Executed notebook of run ${run.id} (read-only)`;
  panel.addClass('jp-Lakebook-readOnly');
  for (const cell of panel.content.widgets) {
    cell.readOnly = true;
  }
  panel.content.model?.cells.changed.connect(() => {
    for (const cell of panel.content.widgets) {
      cell.readOnly = true;
    }
  });
}

export default plugin;
