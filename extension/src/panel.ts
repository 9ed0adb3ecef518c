import {
  SidePanel,
  Toolbar,
  ToolbarButton,
  refreshIcon
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { AccordionPanel, Widget } from '@lumino/widgets';

import { lakebookIcon } from './icons';
import { LakebookModel, ResourceModel } from './model';
import { LakebookSection } from './sections/base';
import { OverviewSection } from './sections/overview';

/**
 * The Lakebook left sidebar panel.
 *
 * A header (title and refresh button) above an accordion of collapsible
 * sections. Each section polls its own resource only while it is visible
 * (see `LakebookSection`); the header's refresh button refreshes them all.
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
        this.refreshAll();
      }
    });
    actions.addItem('refresh', refreshButton);

    this.header.addWidget(heading);
    this.header.addWidget(actions);

    this.addSection(new OverviewSection({ model: this.model }));

    this._accordion.expansionToggled.connect(this._onExpansionToggled, this);
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
    if (section instanceof LakebookSection && !this._models.includes(section.model)) {
      this._models.push(section.model);
      section.model.changed.connect(this._onModelChanged, this);
    }
  }

  /**
   * Refresh every section's model now (hidden ones too, so that a section
   * shows fresh content when it is expanded).
   */
  refreshAll(): void {
    for (const model of this._models) {
      void model.refresh();
    }
  }

  /**
   * Collapse a section (by index); its title stays, a click expands it.
   */
  collapseSection(index: number): void {
    this._accordion.collapse(index);
  }

  /**
   * Set the relative heights of the sections (in their order).
   */
  setRelativeSizes(sizes: number[]): void {
    this._accordion.setRelativeSizes(sizes);
  }

  /**
   * Give every expanded section at least a fair share of the height.
   *
   * A section collapsed before the panel was first shown has no size to
   * return to, and the shell may restore sizes saved while a section was
   * collapsed: either would leave an expanded section a few pixels high.
   */
  ensureRoom(): void {
    const accordion = this._accordion;
    const sizes = accordion.relativeSizes();
    const share = LakebookPanel.MIN_EXPANDED_SHARE;
    const small = new Set(
      accordion.widgets
        .map((w, i) => (!w.isHidden && sizes[i] < share / 2 ? i : -1))
        .filter(i => i >= 0)
    );
    if (small.size === 0) {
      return;
    }
    const others = sizes.reduce((sum, s, i) => (small.has(i) ? sum : sum + s), 0);
    const scale = others > 0 ? Math.max(0, 1 - share * small.size) / others : 0;
    accordion.setRelativeSizes(sizes.map((s, i) => (small.has(i) ? share : s * scale)));
  }

  private get _accordion(): AccordionPanel {
    return this.content as AccordionPanel;
  }

  private _onExpansionToggled(): void {
    this.ensureRoom();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._clearBusyTimer();
    for (const model of this._models) {
      model.changed.disconnect(this._onModelChanged, this);
    }
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._onModelChanged();
  }

  /**
   * Show the busy state only when a request takes a noticeable time, so that
   * a quick refresh changes nothing on screen.
   */
  private _onModelChanged(): void {
    const loading = this._models.some(m => m.loading);
    this.node.setAttribute('aria-busy', loading ? 'true' : 'false');
    if (!loading) {
      this._clearBusyTimer();
      this.removeClass('jp-mod-busy');
      return;
    }
    if (this._busyTimer === null && !this.hasClass('jp-mod-busy')) {
      this._busyTimer = window.setTimeout(() => {
        this._busyTimer = null;
        if (this._models.some(m => m.loading)) {
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
  private _models: ResourceModel<any>[] = [];
}

export namespace LakebookPanel {
  export interface IOptions {
    model: LakebookModel;
  }

  /**
   * Milliseconds a request must last before the busy state shows.
   */
  export const BUSY_DELAY = 300;

  /**
   * Share of the panel's height a section gets when it is expanded from
   * nothing.
   */
  export const MIN_EXPANDED_SHARE = 0.22;
}
