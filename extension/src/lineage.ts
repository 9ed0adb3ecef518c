/**
 * The lineage graph prepared for drawing: old versions and runs collapsed,
 * steps grouped by notebook, colours by status, and what a click opens.
 *
 * Pure functions (no DOM, no layout engine) so they are unit tested; the
 * layered layout itself is ELK's (see `widgets/lineage.ts`).
 */
import { ILineageGraph, ILineageNode } from './endpoints';

export interface IPrepareOptions {
  /** Put the steps, cells and runs of one notebook in one box. */
  groupByNotebook: boolean;
  /** Keep only the newest versions (and runs) of each object; the rest become one node. */
  collapseOldVersions: boolean;
  /** How many versions (runs per step) stay when collapsing. */
  keep: number;
}

export const DEFAULT_OPTIONS: IPrepareOptions = {
  groupByNotebook: true,
  collapseOldVersions: true,
  keep: 2
};

export interface IDrawnNode {
  id: string;
  kind: string;
  /** The first line (the object's name). */
  label: string;
  /** The second line: kind, version, status. */
  sublabel: string;
  /** A tooltip: who made it and when, why it is stale. */
  title: string;
  status: string | null;
  stale: boolean;
  /** The notebook group this node is drawn in, if any. */
  group: string | null;
  /** The ids of the nodes this one stands for (several when collapsed). */
  members: string[];
  /** The node itself when it stands for exactly one. */
  node: ILineageNode | null;
}

export interface IDrawnGroup {
  id: string;
  label: string;
}

export interface IDrawnEdge {
  id: string;
  source: string;
  target: string;
  relation: string;
}

export interface IDrawnGraph {
  nodes: IDrawnNode[];
  groups: IDrawnGroup[];
  edges: IDrawnEdge[];
}

const VERSIONED = new Set(['feature_group', 'feature_view', 'training_set', 'model_version']);

const KIND_LABELS: Record<string, string> = {
  feature_group: 'feature group',
  feature_view: 'feature view',
  training_set: 'training set',
  model_version: 'model',
  model_alias: 'alias',
  monitor_result: 'monitor result'
};

export function kindLabel(kind: string): string {
  return KIND_LABELS[kind] ?? kind;
}

function versionKey(v: string | null): number {
  if (v === null) {
    return -1;
  }
  const n = Number.parseInt(v, 10);
  return Number.isNaN(n) ? 0 : n;
}

function basename(path: string): string {
  const parts = path.split('/');
  return parts[parts.length - 1] || path;
}

/**
 * The graph as drawn with `options`.
 */
export function prepareGraph(graph: ILineageGraph, options: IPrepareOptions = DEFAULT_OPTIONS): IDrawnGraph {
  const byId = new Map(graph.nodes.map(n => [n.id, n]));
  // representative of each node: itself, or the collapsed node it is merged into
  const rep = new Map<string, string>();
  const collapsed = new Map<string, { kind: string; name: string; members: string[]; group: string | null }>();
  const collapse = (members: ILineageNode[], id: string, kind: string, name: string, group: string | null) => {
    if (members.length === 0) {
      return;
    }
    collapsed.set(id, { kind, name, members: members.map(m => m.id), group });
    for (const m of members) {
      rep.set(m.id, id);
    }
  };
  if (options.collapseOldVersions) {
    const families = new Map<string, ILineageNode[]>();
    for (const n of graph.nodes) {
      if (VERSIONED.has(n.kind)) {
        const key = `${n.kind}:${n.name}`;
        families.set(key, [...(families.get(key) ?? []), n]);
      }
    }
    for (const [key, members] of families) {
      const sorted = [...members].sort((a, b) => versionKey(b.version) - versionKey(a.version));
      collapse(sorted.slice(options.keep), `collapsed:${key}`, sorted[0].kind, sorted[0].name, null);
    }
    // runs: the newest few of each step
    const runsOf = new Map<string, ILineageNode[]>();
    for (const e of graph.edges) {
      const run = byId.get(e.target);
      if (e.relation === 'ran' && run && run.kind === 'run') {
        runsOf.set(e.source, [...(runsOf.get(e.source) ?? []), run]);
      }
    }
    for (const [step, runs] of runsOf) {
      const sorted = [...runs].sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
      const owner = byId.get(step);
      collapse(
        sorted.slice(options.keep),
        `collapsed:runs:${step}`,
        'run',
        owner ? owner.name : step,
        options.groupByNotebook && owner?.notebook ? `group:${owner.notebook}` : null
      );
    }
  }
  const groups = new Map<string, IDrawnGroup>();
  const groupOf = (n: ILineageNode): string | null => {
    if (!options.groupByNotebook || !n.notebook) {
      return null;
    }
    if (!['step', 'run', 'cell', 'notebook'].includes(n.kind)) {
      return null;
    }
    const id = `group:${n.notebook}`;
    if (!groups.has(id)) {
      groups.set(id, { id, label: basename(n.notebook) });
    }
    return id;
  };
  const nodes: IDrawnNode[] = [];
  for (const n of graph.nodes) {
    if (rep.has(n.id)) {
      continue;
    }
    const version = n.version !== null ? ` v${n.version}` : '';
    const status = n.stale ? 'stale' : n.status ?? '';
    nodes.push({
      id: n.id,
      kind: n.kind,
      label: n.kind === 'step' ? n.name.split('::').pop() ?? n.name : n.name,
      sublabel: `${kindLabel(n.kind)}${version}${status ? ` · ${status.replace(/_/g, ' ')}` : ''}`,
      title: [
        `${kindLabel(n.kind)} ${n.name}${version}`,
        n.who || n.createdAt ? `made by ${n.who ?? '?'} at ${n.createdAt ?? '?'}` : '',
        n.stale && n.reason ? `stale: ${n.reason}` : ''
      ]
        .filter(Boolean)
        .join('\n'),
      status: n.status,
      stale: n.stale,
      group: groupOf(n),
      members: [n.id],
      node: n
    });
  }
  for (const [id, c] of collapsed) {
    const what = c.kind === 'run' ? 'older runs' : 'older versions';
    const anyStale = c.members.some(m => byId.get(m)?.stale);
    if (c.group && !groups.has(c.group)) {
      groups.set(c.group, { id: c.group, label: basename(c.group.slice('group:'.length)) });
    }
    nodes.push({
      id,
      kind: c.kind,
      label: c.name.split('::').pop() ?? c.name,
      sublabel: `${c.members.length} ${what}`,
      title: `${c.members.length} ${what} of ${c.name} (collapsed)`,
      status: null,
      stale: anyStale,
      group: c.group,
      members: c.members,
      node: null
    });
  }
  const seen = new Set<string>();
  const edges: IDrawnEdge[] = [];
  for (const e of graph.edges) {
    const source = rep.get(e.source) ?? e.source;
    const target = rep.get(e.target) ?? e.target;
    const key = `${source}->${target}`;
    if (source === target || seen.has(key) || !byId.has(e.source) || !byId.has(e.target)) {
      continue;
    }
    seen.add(key);
    edges.push({ id: `e${edges.length}`, source, target, relation: e.relation });
  }
  return { nodes, groups: [...groups.values()], edges };
}

/**
 * The fill and border of a node: its kind gives the fill, its status the border.
 */
export function nodeColours(node: IDrawnNode): { fill: string; stroke: string; dashed: boolean } {
  const fills: Record<string, string> = {
    feature_group: '#e3f2fd',
    feature_view: '#e8eaf6',
    training_set: '#ede7f6',
    model_version: '#f3e5f5',
    model_alias: '#fce4ec',
    deployment: '#e0f2f1',
    predictions: '#e0f7fa',
    monitor: '#fff8e1',
    monitor_result: '#fff8e1',
    alert: '#ffebee',
    outcome: '#fff3e0',
    step: '#f1f8e9',
    run: '#fafafa'
  };
  const strokes: Record<string, string> = {
    succeeded: '#2e7d32',
    up_to_date: '#558b2f',
    failed: '#c62828',
    timed_out: '#ef6c00',
    running: '#1976d2',
    queued: '#757575',
    aliased: '#6a1b9a'
  };
  if (node.stale) {
    return { fill: fills[node.kind] ?? '#ffffff', stroke: '#ef6c00', dashed: true };
  }
  return {
    fill: fills[node.kind] ?? '#ffffff',
    stroke: (node.status && strokes[node.status]) || '#9e9e9e',
    dashed: false
  };
}

/**
 * What a click on a node opens: the existing detail view of its object.
 */
export type NodeAction =
  | { type: 'featureGroup'; name: string }
  | { type: 'model'; name: string }
  | { type: 'run'; id: string }
  | { type: 'monitor'; name: string }
  | { type: 'business'; deployment: string }
  | { type: 'focus'; kind: string; name: string; version: string | null }
  | { type: 'expand' };

export function nodeAction(node: IDrawnNode): NodeAction {
  const n = node.node;
  if (n === null) {
    return { type: 'expand' };
  }
  switch (n.kind) {
    case 'feature_group':
      return { type: 'featureGroup', name: n.name };
    case 'model_version':
      return { type: 'model', name: n.name };
    case 'model_alias':
      return { type: 'model', name: n.name.split('@')[0] };
    case 'run':
      return { type: 'run', id: n.name };
    case 'monitor':
    case 'monitor_result':
    case 'alert':
      return { type: 'monitor', name: n.name };
    case 'outcome': // a deployment's outcomes: its business view joins them to predictions
      return { type: 'business', deployment: n.name };
    default:
      return { type: 'focus', kind: n.kind, name: n.name, version: n.version };
  }
}
