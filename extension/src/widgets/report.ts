import { IFrame, MainAreaWidget } from '@jupyterlab/apputils';
import { refreshIcon, ToolbarButton } from '@jupyterlab/ui-components';

import { LakebookClient } from '../api';
import { lakebookIcon } from '../icons';
import { describe } from '../json';

/**
 * Sandbox of report frames: the report's own scripts (Evidently's charts)
 * run, but in an opaque origin, so they cannot reach JupyterLab or the
 * server with the user's credentials.
 */
export const REPORT_SANDBOX: IFrame.SandboxExceptions[] = [
  'allow-scripts',
  'allow-popups',
  'allow-downloads'
];

/**
 * An Evidently report in a main-area tab.
 *
 * The HTML is fetched with the Jupyter server's authentication (token or
 * cookie with XSRF, through `ServerConnection`) and shown with `srcdoc`, so
 * the frame itself needs no credentials.
 */
export class ReportView extends IFrame {
  constructor(options: ReportView.IOptions) {
    super({ sandbox: REPORT_SANDBOX, referrerPolicy: 'no-referrer' });
    this.addClass('jp-Lakebook-report');
    this._client = options.client;
    this.path = options.path;
  }

  readonly path: string;

  async load(): Promise<void> {
    const frame = this.node.querySelector('iframe');
    if (!frame) {
      return;
    }
    try {
      frame.srcdoc = await this._client.reportHtml(this.path);
    } catch (reason) {
      frame.srcdoc =
        '<!doctype html><meta charset="utf-8"><body style="font:14px sans-serif;padding:16px">' +
        `<p><b>Could not load the report.</b></p><p>${escapeHtml(describe(reason))}</p></body>`;
    }
  }

  private _client: LakebookClient;
}

export namespace ReportView {
  export interface IOptions {
    client: LakebookClient;
    /** Path of the report below `/lakebook/api/`. */
    path: string;
    /** Tab title. */
    label: string;
  }

  export function create(options: IOptions): MainAreaWidget<ReportView> {
    const content = new ReportView(options);
    const widget = new MainAreaWidget({ content });
    widget.id = `lakebook-report-${options.path.replace(/[^A-Za-z0-9_-]/g, '-')}`;
    widget.title.label = options.label;
    widget.title.icon = lakebookIcon;
    widget.title.closable = true;
    widget.toolbar.addItem(
      'refresh',
      new ToolbarButton({ icon: refreshIcon, tooltip: 'Reload the report', onClick: () => void content.load() })
    );
    void content.load();
    return widget;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
}
