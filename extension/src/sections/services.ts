import { LakebookClient } from '../api';
import { IMonitor, IRun } from '../endpoints';

/**
 * What the sections need from the rest of the extension: the API client and
 * the actions that open main-area widgets or documents.
 */
export interface ISidebarServices {
  readonly client: LakebookClient;
  /** Open the detail view of a feature group in the main area. */
  openFeatureGroup(name: string): void;
  /** Open the executed notebook of a run, read-only. */
  openRunOutput(run: IRun): Promise<void>;
  /** Open the latest report of a monitor in a main-area tab. */
  openReport(monitor: IMonitor): void;
  /** Open the business view (KPIs over time, arms) of a deployment. */
  openBusiness?(name: string): void;
  /** Open the side-by-side comparison of a model's versions. */
  compareModel(name: string): void;
  /** Open the lineage tab of an object (a kind, name and version; none: the lakehouse). */
  openLineage?(target: { kind?: string; name: string; version?: string | null } | null, label: string): void;
  /** Refresh every section (after an action that changes the lakehouse). */
  refreshAll(): void;
  /** Tell the user something happened (or failed). */
  notify(message: string, type: 'success' | 'error' | 'info'): void;
}
