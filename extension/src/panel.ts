import {
  SidePanel,
  Toolbar,
  ToolbarButton,
  refreshIcon
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { lakebookIcon } from './icons';
import { LakebookModel } from './model';
import { OverviewSection } from './sections/overview';

/**
 * The Lakebook left sidebar panel.
 *
 * A header (title and refresh button) above an accordion of collapsible
 * sections. The panel tells the model to poll only while it is visible.
 */
export class LakebookPanel extends SidePanel {
  constructor(options: LakebookPanel.IOptions) {
    super();
    this.model = options.model;
    this.id = LakebookPanel.ID;
    this.title.icon = lakebookIcon;
    this.title.caption = 'Lakebook';
    this.addClass('jp-Lakebook-panel');

    const heading = new Widget({ node: document.createElement('h2') });
    heading.node.textContent = 'Lakebook';
    heading.addClass('jp-Lakebook-heading');
    heading.addClass('jp-text-truncated');

    const actions = new Toolbar();
    actions.addClass('jp-Lakebook-actions');
    actions.node.setAttribute('aria-label', 'Lakebook actions');
    const refreshButton = new ToolbarButton({
      icon: refreshIcon,
      className: 'jp-Lakebook-refresh',
      tooltip: 'Refresh Lakebook',
      onClick: () => {
        void this.model.refresh();
      }
    });
    actions.addItem('refresh', refreshButton);

    this.header.addWidget(heading);
    this.header.addWidget(actions);

    this.addSection(new OverviewSection({ model: this.model }));

    this.model.changed.connect(this._onModelChanged, this);
  }

  static readonly ID = 'lakebook-sidebar';

  readonly model: LakebookModel;

  /**
   * Add a collapsible section (a widget whose `title.label` is its header).
   *
   * @param index Position among the sections; appended when omitted.
   */
  addSection(section: Widget, index?: number): void {
    if (index === undefined) {
      this.addWidget(section);
    } else {
      this.insertWidget(index, section);
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._clearBusyTimer();
    this.model.changed.disconnect(this._onModelChanged, this);
    this.model.active = false;
    super.dispose();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.model.active = this.isVisible;
  }

  protected onBeforeDetach(msg: Message): void {
    this.model.active = false;
    super.onBeforeDetach(msg);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.active = true;
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.active = false;
  }

  /**
   * Show the busy state only when a request takes a noticeable time, so that
   * a quick refresh changes nothing on screen.
   */
  private _onModelChanged(): void {
    const loading = this.model.loading;
    this.node.setAttribute('aria-busy', loading ? 'true' : 'false');
    if (!loading) {
      this._clearBusyTimer();
      this.removeClass('jp-mod-busy');
      return;
    }
    if (this._busyTimer === null && !this.hasClass('jp-mod-busy')) {
      this._busyTimer = window.setTimeout(() => {
        this._busyTimer = null;
        if (this.model.loading) {
          this.addClass('jp-mod-busy');
        }
      }, LakebookPanel.BUSY_DELAY);
    }
  }

  private _clearBusyTimer(): void {
    if (this._busyTimer !== null) {
      window.clearTimeout(this._busyTimer);
      this._busyTimer = null;
    }
  }

  private _busyTimer: number | null = null;
}

export namespace LakebookPanel {
  export interface IOptions {
    model: LakebookModel;
  }

  /**
   * Milliseconds a request must last before the busy state shows.
   */
  export const BUSY_DELAY = 300;
}
