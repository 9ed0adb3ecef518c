import { Toolbar, ToolbarButton, refreshIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { ResourceModel } from '../model';

/**
 * Base class of the collapsible sections of the Lakebook panel.
 *
 * A section is a Lumino widget placed in the panel's accordion: its
 * `title.label` is the accordion header (a keyboard-focusable button that
 * collapses the section), and its `toolbar` (a count and a refresh button) is
 * drawn in that header. It re-renders on `update-request`, which is posted
 * whenever its model changes, and only while it is visible.
 *
 * A section owns the activity of its model: the model polls only while the
 * section is visible, so a hidden panel or a collapsed section costs nothing.
 *
 * Subclasses build their DOM once in the constructor and implement
 * `render()` to update it in place from `this.model`, so a refresh never
 * blanks or rebuilds what the user is looking at.
 */
export abstract class LakebookSection<
  M extends ResourceModel<any> = ResourceModel<any>
> extends Widget {
  constructor(options: LakebookSection.IOptions<M>) {
    super();
    this.model = options.model;
    this.id = options.id;
    this.title.label = options.label;
    this.title.caption = options.caption ?? options.label;
    this.addClass('jp-Lakebook-section');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', options.label);

    this.toolbar = new Toolbar();
    this.toolbar.addClass('jp-Lakebook-sectionToolbar');
    this._count = new Widget({ node: h('span', 'jp-Lakebook-sectionCount') });
    this._count.node.hidden = true;
    this.toolbar.addItem('count', this._count);
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        className: 'jp-Lakebook-sectionRefresh',
        tooltip: `Refresh ${options.label}`,
        onClick: () => {
          void this.model.refresh();
        }
      })
    );

    this.model.changed.connect(this._onModelChanged, this);
  }

  readonly model: M;

  /**
   * Drawn in the accordion header by JupyterLab's `SidePanel`.
   */
  readonly toolbar: Toolbar;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.changed.disconnect(this._onModelChanged, this);
    this.model.active = false;
    this.toolbar.dispose();
    super.dispose();
  }

  /**
   * Show a count next to the section's title (null hides it).
   */
  protected setCount(count: number | null, label?: string): void {
    const node = this._count.node;
    node.hidden = count === null;
    setText(node, count === null ? '' : count.toLocaleString('en'));
    node.title = label ?? '';
    if (count !== null) {
      node.setAttribute('aria-label', label ?? `${count}`);
    }
  }

  /**
   * Update the section's DOM from the model.
   */
  protected abstract render(): void;

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.active = true;
    this.update();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.active = false;
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.model.active = this.isVisible;
    this.update();
  }

  protected onBeforeDetach(msg: Message): void {
    this.model.active = false;
    super.onBeforeDetach(msg);
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

  private _count: Widget;
}

export namespace LakebookSection {
  export interface IOptions<M> {
    model: M;
    /** DOM id of the section. */
    id: string;
    /** Header shown in the accordion. */
    label: string;
    /** Tooltip of the header. */
    caption?: string;
  }
}

/**
 * A section that shows one resource as a list: an inline error above the
 * last good content, a loading line, an empty state, and the list.
 */
export abstract class ListSection<
  T,
  M extends ResourceModel<T> = ResourceModel<T>
> extends LakebookSection<M> {
  constructor(options: ListSection.IOptions<M>) {
    super(options);
    this.addClass('jp-Lakebook-listSection');
    this.errorBox = h('div', 'jp-Lakebook-error');
    this.errorBox.setAttribute('role', 'alert');
    this.errorBox.hidden = true;
    this._errorText = h('span', 'jp-Lakebook-errorText');
    this.errorBox.append(
      h('span', 'jp-Lakebook-errorTitle', options.errorTitle),
      this._errorText
    );
    this.placeholder = h('p', 'jp-Lakebook-placeholder', 'Loading…');
    this.empty = h('p', 'jp-Lakebook-empty');
    this.empty.hidden = true;
    this.content = h('div', 'jp-Lakebook-content');
    this.content.hidden = true;
    this.node.append(this.errorBox, this.placeholder, this.empty, this.content);
  }

  protected readonly errorBox: HTMLElement;
  protected readonly placeholder: HTMLElement;
  protected readonly empty: HTMLElement;
  protected readonly content: HTMLElement;

  protected render(): void {
    const { data, error } = this.model;
    this.errorBox.hidden = error === null;
    setText(this._errorText, error ?? '');
    this.placeholder.hidden = data !== null || error !== null;
    this.content.classList.toggle('jp-mod-stale', error !== null);
    if (data === null) {
      this.empty.hidden = true;
      this.content.hidden = true;
      return;
    }
    const emptyText = this.emptyText(data);
    this.empty.hidden = emptyText === null;
    setText(this.empty, emptyText ?? '');
    this.content.hidden = emptyText !== null && !this.showContentWhenEmpty;
    this.renderData(data);
  }

  /**
   * The empty-state sentence, or null when there is something to show.
   */
  protected abstract emptyText(data: T): string | null;

  /**
   * Update `content` from a good answer.
   */
  protected abstract renderData(data: T): void;

  /** Keep `content` visible under the empty state (e.g. for actions). */
  protected showContentWhenEmpty = false;

  private _errorText: HTMLElement;
}

export namespace ListSection {
  export interface IOptions<M> extends LakebookSection.IOptions<M> {
    /** First line of the inline error, e.g. "Could not load the models". */
    errorTitle: string;
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

/**
 * Set an attribute only when it differs (null removes it).
 */
export function setAttr(node: Element, name: string, value: string | null): void {
  if (value === null) {
    if (node.hasAttribute(name)) {
      node.removeAttribute(name);
    }
  } else if (node.getAttribute(name) !== value) {
    node.setAttribute(name, value);
  }
}

/**
 * A small coloured label (`kind` picks the colour through CSS).
 */
export function badge(text: string, kind: string, title?: string): HTMLElement {
  const node = h('span', `jp-Lakebook-badge jp-Lakebook-badge-${kind}`, text);
  if (title) {
    node.title = title;
  }
  return node;
}

/**
 * Update a badge in place.
 */
export function setBadge(node: HTMLElement, text: string, kind: string, title?: string): void {
  setText(node, text);
  const className = `jp-Lakebook-badge jp-Lakebook-badge-${kind}`;
  if (node.className !== className) {
    node.className = className;
  }
  node.title = title ?? '';
}

/**
 * A small text button (keyboard accessible: a real `<button>`).
 */
export function button(
  label: string,
  onClick: (event: MouseEvent) => void,
  options: { title?: string; className?: string } = {}
): HTMLButtonElement {
  const node = h('button', `jp-Lakebook-button ${options.className ?? ''}`.trim(), label);
  node.type = 'button';
  if (options.title) {
    node.title = options.title;
    node.setAttribute('aria-label', options.title);
  }
  node.addEventListener('click', event => {
    event.stopPropagation();
    onClick(event);
  });
  return node;
}

/**
 * A list whose items are kept by key across updates: existing nodes are
 * updated in place and only moved when the order changes, so a refresh does
 * not flicker and keeps the keyboard focus.
 */
export class KeyedList<T> {
  constructor(
    readonly node: HTMLElement,
    private _options: KeyedList.IOptions<T>
  ) {}

  update(items: readonly T[]): void {
    const seen = new Set<string>();
    let previous: Element | null = null;
    for (const item of items) {
      const key = this._options.key(item);
      seen.add(key);
      let entry = this._entries.get(key);
      if (!entry) {
        entry = this._options.create(item);
        entry.node.dataset.key = key;
        this._entries.set(key, entry);
      }
      entry.update(item);
      const expected: Element | null = previous
        ? previous.nextElementSibling
        : this.node.firstElementChild;
      if (expected !== entry.node) {
        this.node.insertBefore(entry.node, expected);
      }
      previous = entry.node;
    }
    for (const [key, entry] of this._entries) {
      if (!seen.has(key)) {
        entry.node.remove();
        entry.dispose?.();
        this._entries.delete(key);
      }
    }
  }

  get size(): number {
    return this._entries.size;
  }

  private _entries = new Map<string, KeyedList.IEntry<T>>();
}

export namespace KeyedList {
  export interface IEntry<T> {
    node: HTMLElement;
    update(item: T): void;
    dispose?(): void;
  }

  export interface IOptions<T> {
    key(item: T): string;
    create(item: T): IEntry<T>;
  }
}
