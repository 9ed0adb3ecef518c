import { MainAreaWidget } from '@jupyterlab/apputils';
import { refreshIcon, ToolbarButton } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import ELK, { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk.bundled.js';

import { LakebookClient } from '../api';
import { ILineageGraph } from '../endpoints';
import { lakebookIcon } from '../icons';
import { describe } from '../json';
import {
  DEFAULT_OPTIONS,
  IDrawnGraph,
  IDrawnNode,
  IPrepareOptions,
  NodeAction,
  nodeAction,
  nodeColours,
  prepareGraph
} from '../lineage';
import { h, setText } from '../sections/base';

const SVG = 'http://www.w3.org/2000/svg';
const NODE_W = 168;
const NODE_H = 40;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    node.setAttribute(k, String(v));
  }
  return node;
}

function clip(text: string, max = 24): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The lineage of one object (or of the lakehouse) in the main area: a layered
 * graph laid out by ELK, nodes coloured by status and stale ones marked; a
 * click opens the object's detail view.
 */
export class LineageView extends Widget {
  constructor(options: LineageView.IOptions) {
    super();
    this.addClass('jp-Lakebook-view');
    this.addClass('jp-Lakebook-lineageView');
    this._options = options;
    this._error = h('div', 'jp-Lakebook-error');
    this._error.setAttribute('role', 'alert');
    this._error.hidden = true;
    const controls = h('div', 'jp-Lakebook-lineageControls');
    const toggle = (label: string, key: 'groupByNotebook' | 'collapseOldVersions') => {
      const wrap = h('label', 'jp-Lakebook-lineageToggle');
      const box = h('input');
      box.type = 'checkbox';
      box.checked = this._prepare[key];
      box.addEventListener('change', () => {
        this._prepare = { ...this._prepare, [key]: box.checked };
        void this._draw();
      });
      wrap.append(box, ` ${label}`);
      return wrap;
    };
    this._summary = h('span', 'jp-Lakebook-itemMeta');
    controls.append(
      toggle('group by notebook', 'groupByNotebook'),
      toggle('collapse old versions', 'collapseOldVersions'),
      this._summary
    );
    this._canvas = h('div', 'jp-Lakebook-lineageCanvas');
    this._placeholder = h('p', 'jp-Lakebook-placeholder', 'Loading…');
    this.node.append(this._error, controls, this._placeholder, this._canvas);
  }

  /** The graph as last drawn (for tests and the toolbar). */
  get drawn(): IDrawnGraph | null {
    return this._drawn;
  }

  async load(): Promise<void> {
    try {
      this._graph = await this._options.client.lineage(this._options.target ?? undefined);
      this._error.hidden = true;
      await this._draw();
    } catch (reason) {
      this._error.hidden = false;
      this._error.replaceChildren(
        h('span', 'jp-Lakebook-errorTitle', `Could not load the lineage of ${this._options.label}`),
        h('span', 'jp-Lakebook-errorText', describe(reason))
      );
    } finally {
      this._placeholder.hidden = true;
    }
  }

  private async _draw(): Promise<void> {
    if (!this._graph) {
      return;
    }
    const drawn = prepareGraph(this._graph, this._prepare);
    this._drawn = drawn;
    const stale = drawn.nodes.filter(n => n.stale).length;
    setText(
      this._summary,
      `${this._graph.nodes.length} nodes` +
        (drawn.nodes.length !== this._graph.nodes.length ? ` (${drawn.nodes.length} shown)` : '') +
        (stale ? ` · ${stale} stale` : '')
    );
    const layout = await new ELK().layout(this._elkGraph(drawn));
    this._render(drawn, layout);
  }

  private _elkGraph(drawn: IDrawnGraph): ElkNode {
    const leaf = (n: IDrawnNode): ElkNode => ({ id: n.id, width: NODE_W, height: NODE_H });
    const children: ElkNode[] = drawn.nodes.filter(n => !n.group).map(leaf);
    for (const g of drawn.groups) {
      children.push({
        id: g.id,
        layoutOptions: { 'elk.padding': '[top=26,left=10,bottom=10,right=10]' },
        children: drawn.nodes.filter(n => n.group === g.id).map(leaf)
      });
    }
    const edges: ElkExtendedEdge[] = drawn.edges.map(e => ({ id: e.id, sources: [e.source], targets: [e.target] }));
    return {
      id: 'root',
      layoutOptions: {
        'elk.algorithm': 'layered',
        'elk.direction': 'RIGHT',
        'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
        'elk.layered.spacing.nodeNodeBetweenLayers': '48',
        'elk.spacing.nodeNode': '16',
        'elk.edgeRouting': 'POLYLINE'
      },
      children,
      edges
    };
  }

  private _render(drawn: IDrawnGraph, layout: ElkNode): void {
    const width = (layout.width ?? 0) + 20;
    const height = (layout.height ?? 0) + 20;
    const root = svg('svg', { width, height, viewBox: `-10 -10 ${width} ${height}`, role: 'img' });
    root.setAttribute('aria-label', `Lineage of ${this._options.label}`);
    const defs = svg('defs');
    const marker = svg('marker', { id: 'lakebook-arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#90a4ae' }));
    defs.append(marker);
    root.append(defs);
    const byId = new Map(drawn.nodes.map(n => [n.id, n]));
    const offsets = new Map<string, { x: number; y: number }>([['root', { x: 0, y: 0 }]]);
    const place = (parent: ElkNode, ox: number, oy: number) => {
      for (const child of parent.children ?? []) {
        const x = ox + (child.x ?? 0);
        const y = oy + (child.y ?? 0);
        offsets.set(child.id, { x, y });
        if (child.children) {
          const group = svg('g', { class: 'jp-Lakebook-lineageGroup' });
          group.append(
            svg('rect', { x, y, width: child.width ?? 0, height: child.height ?? 0, rx: 6, fill: '#f5f5f5', stroke: '#cfd8dc' })
          );
          const label = svg('text', { x: x + 8, y: y + 16, class: 'jp-Lakebook-lineageGroupLabel' });
          label.textContent = drawn.groups.find(g => g.id === child.id)?.label ?? '';
          group.append(label);
          root.append(group);
          place(child, x, y);
        }
      }
    };
    place(layout, 0, 0);
    const edgeLayer = svg('g', { class: 'jp-Lakebook-lineageEdges' });
    root.append(edgeLayer);
    for (const edge of (layout.edges ?? []) as (ElkExtendedEdge & { container?: string })[]) {
      const base = offsets.get(edge.container ?? 'root') ?? { x: 0, y: 0 };
      for (const s of edge.sections ?? []) {
        const pts = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint];
        const d = pts.map((p, i) => `${i ? 'L' : 'M'} ${p.x + base.x} ${p.y + base.y}`).join(' ');
        edgeLayer.append(svg('path', { d, fill: 'none', stroke: '#90a4ae', 'stroke-width': 1.2, 'marker-end': 'url(#lakebook-arrow)' }));
      }
    }
    for (const [id, at] of offsets) {
      const n = byId.get(id);
      if (!n) {
        continue;
      }
      const colours = nodeColours(n);
      const g = svg('g', { class: 'jp-Lakebook-lineageNode', tabindex: 0, 'data-id': n.id, 'data-kind': n.kind });
      if (n.stale) {
        g.classList.add('jp-mod-stale');
      }
      g.setAttribute('role', 'button');
      g.setAttribute('aria-label', `${n.sublabel} ${n.label}`);
      const title = svg('title');
      title.textContent = n.title;
      const rect = svg('rect', {
        x: at.x, y: at.y, width: NODE_W, height: NODE_H, rx: 5,
        fill: colours.fill, stroke: colours.stroke, 'stroke-width': n.stale ? 2 : 1.4
      });
      if (colours.dashed) {
        rect.setAttribute('stroke-dasharray', '5 3');
      }
      const line1 = svg('text', { x: at.x + 8, y: at.y + 16, class: 'jp-Lakebook-lineageLabel' });
      line1.textContent = clip(n.label);
      const line2 = svg('text', { x: at.x + 8, y: at.y + 31, class: 'jp-Lakebook-lineageSublabel' });
      line2.textContent = clip(n.sublabel, 28);
      g.append(title, rect, line1, line2);
      const open = () => this._options.onOpen(nodeAction(n), n);
      g.addEventListener('click', open);
      g.addEventListener('keydown', event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          open();
        }
      });
      root.append(g);
    }
    this._canvas.replaceChildren(root);
  }

  private _options: LineageView.IOptions;
  private _prepare: IPrepareOptions = { ...DEFAULT_OPTIONS };
  private _graph: ILineageGraph | null = null;
  private _drawn: IDrawnGraph | null = null;
  private _error: HTMLElement;
  private _summary: HTMLElement;
  private _canvas: HTMLElement;
  private _placeholder: HTMLElement;
}

export namespace LineageView {
  export interface IOptions {
    client: LakebookClient;
    /** The object whose lineage to show (none: the whole lakehouse). */
    target: { kind?: string; name: string; version?: string | null } | null;
    label: string;
    /** Open what a click on a node asks for. */
    onOpen(action: NodeAction, node: IDrawnNode): void;
  }

  export function create(options: IOptions): MainAreaWidget<LineageView> {
    const content = new LineageView(options);
    const widget = new MainAreaWidget({ content });
    const t = options.target;
    widget.id = `lakebook-lineage-${t ? `${t.kind ?? ''}-${t.name}-${t.version ?? ''}` : 'all'}`.replace(/[^A-Za-z0-9_-]/g, '_');
    widget.title.label = `${options.label} (lineage)`;
    widget.title.icon = lakebookIcon;
    widget.title.closable = true;
    widget.toolbar.addItem(
      'refresh',
      new ToolbarButton({ icon: refreshIcon, tooltip: 'Reload the lineage', onClick: () => void content.load() })
    );
    void content.load();
    return widget;
  }
}
