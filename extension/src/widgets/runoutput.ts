import { MainAreaWidget } from '@jupyterlab/apputils';
import * as nbformat from '@jupyterlab/nbformat';
import { OutputArea, OutputAreaModel } from '@jupyterlab/outputarea';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';

import { IRunOutput } from '../endpoints';
import { lakebookIcon } from '../icons';
import { h } from '../sections/base';

/**
 * A read-only view of an executed notebook that lives outside the server's
 * folder (fetched from `runs/<id>/output`): sources and outputs, no kernel,
 * outputs untrusted (HTML sanitized, no scripts).
 */
export class RunOutputView extends Panel {
  constructor(output: IRunOutput, rendermime: IRenderMimeRegistry) {
    super();
    this.addClass('jp-Lakebook-view');
    this.addClass('jp-Lakebook-runOutput');
    const header = new Widget({ node: h('p', 'jp-Lakebook-formHint') });
    header.node.textContent = `Executed notebook of run ${output.runId} (read-only): ${output.path}`;
    this.addWidget(header);
    const cells = (output.notebook['cells'] as nbformat.ICell[]) ?? [];
    for (const cell of cells) {
      const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
      const box = new Panel();
      box.addClass('jp-Lakebook-runCell');
      box.addClass(`jp-Lakebook-runCell-${cell.cell_type}`);
      const input = new Widget({ node: h('pre', 'jp-Lakebook-runSource') });
      input.node.textContent = source;
      if (cell.cell_type === 'code') {
        const count = (cell as nbformat.ICodeCell).execution_count;
        input.node.dataset.prompt = `[${count ?? ' '}]`;
      }
      box.addWidget(input);
      if (cell.cell_type === 'code') {
        const outputs = ((cell as nbformat.ICodeCell).outputs ?? []) as nbformat.IOutput[];
        if (outputs.length) {
          const model = new OutputAreaModel({ values: outputs, trusted: false });
          box.addWidget(new OutputArea({ model, rendermime }));
        }
      }
      this.addWidget(box);
    }
  }
}

export namespace RunOutputView {
  export function create(output: IRunOutput, rendermime: IRenderMimeRegistry, label: string): MainAreaWidget<RunOutputView> {
    const content = new RunOutputView(output, rendermime);
    const widget = new MainAreaWidget({ content });
    widget.id = `lakebook-run-${output.runId}`;
    widget.title.label = label;
    widget.title.caption = output.path;
    widget.title.icon = lakebookIcon;
    widget.title.closable = true;
    return widget;
  }
}
