import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { LakebookModel } from '../model';

/**
 * Base class of the collapsible sections of the Lakebook panel.
 *
 * A section is a Lumino widget placed in the panel's accordion: its
 * `title.label` is the accordion header (a keyboard-focusable button that
 * collapses the section). It re-renders on `update-request`, which is posted
 * whenever the model changes, and only while it is visible.
 *
 * Subclasses build their DOM once in the constructor and implement
 * `render()` to update it in place from `this.model`, so a refresh never
 * blanks or rebuilds what the user is looking at.
 */
export abstract class LakebookSection extends Widget {
  constructor(options: LakebookSection.IOptions) {
    super();
    this.model = options.model;
    this.id = options.id;
    this.title.label = options.label;
    this.title.caption = options.caption ?? options.label;
    this.addClass('jp-Lakebook-section');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', options.label);
    this.model.changed.connect(this._onModelChanged, this);
  }

  readonly model: LakebookModel;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.changed.disconnect(this._onModelChanged, this);
    super.dispose();
  }

  /**
   * Update the section's DOM from the model.
   */
  protected abstract render(): void;

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.update();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.update();
  }

  protected onUpdateRequest(msg: Message): void {
    super.onUpdateRequest(msg);
    this.render();
  }

  private _onModelChanged(): void {
    if (this.isVisible) {
      this.update();
    }
  }
}

export namespace LakebookSection {
  export interface IOptions {
    model: LakebookModel;
    /** DOM id of the section. */
    id: string;
    /** Header shown in the accordion. */
    label: string;
    /** Tooltip of the header. */
    caption?: string;
  }
}

/**
 * Create an element with a class and optional text.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/**
 * Set `textContent` only when it differs, to avoid needless DOM mutations.
 */
export function setText(node: Node, text: string): void {
  if (node.textContent !== text) {
    node.textContent = text;
  }
}
