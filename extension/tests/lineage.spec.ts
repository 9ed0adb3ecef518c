import { ILineageGraph, ILineageNode, parseLineage } from '../src/endpoints';
import { nodeAction, nodeColours, prepareGraph } from '../src/lineage';
import { recorded as fixture } from './recorded';

function node(id: string, extra: Partial<ILineageNode> = {}): ILineageNode {
  const [kind, rest] = id.split(/:(.*)/s);
  const [name, version] = rest.split('@');
  return {
    id,
    kind,
    name,
    version: version ?? null,
    who: 'ann',
    createdAt: '2024-01-01T00:00:00Z',
    status: null,
    stale: false,
    reason: null,
    notebook: null,
    ...extra
  };
}

function graph(): ILineageGraph {
  const nb = '/work/features.ipynb';
  return {
    nodes: [
      node('step:features.ipynb::feature:tx', { notebook: nb }),
      node('run:r1', { notebook: nb, createdAt: '2024-01-01T00:00:00Z', status: 'succeeded' }),
      node('run:r2', { notebook: nb, createdAt: '2024-01-02T00:00:00Z', status: 'failed' }),
      node('run:r3', { notebook: nb, createdAt: '2024-01-03T00:00:00Z', status: 'up_to_date' }),
      node('feature_group:tx@1'),
      node('feature_group:tx@2'),
      node('feature_group:tx@3'),
      node('model_version:fraud@1', { stale: true, reason: 'read tx v3 at Delta version 1' }),
      node('model_alias:fraud@production')
    ],
    edges: [
      { source: 'step:features.ipynb::feature:tx', target: 'run:r1', relation: 'ran' },
      { source: 'step:features.ipynb::feature:tx', target: 'run:r2', relation: 'ran' },
      { source: 'step:features.ipynb::feature:tx', target: 'run:r3', relation: 'ran' },
      { source: 'run:r1', target: 'feature_group:tx@1', relation: 'wrote' },
      { source: 'run:r2', target: 'feature_group:tx@2', relation: 'wrote' },
      { source: 'run:r3', target: 'feature_group:tx@3', relation: 'wrote' },
      { source: 'feature_group:tx@3', target: 'model_version:fraud@1', relation: 'made_from' },
      { source: 'model_version:fraud@1', target: 'model_alias:fraud@production', relation: 'alias' }
    ]
  };
}

describe('prepareGraph', () => {
  it('keeps every node when nothing is collapsed', () => {
    const drawn = prepareGraph(graph(), { groupByNotebook: false, collapseOldVersions: false, keep: 2 });
    expect(drawn.nodes).toHaveLength(9);
    expect(drawn.edges).toHaveLength(8);
    expect(drawn.groups).toHaveLength(0);
  });

  it('collapses old versions and old runs, keeping the edges between what is left', () => {
    const drawn = prepareGraph(graph(), { groupByNotebook: true, collapseOldVersions: true, keep: 2 });
    const ids = drawn.nodes.map(n => n.id);
    expect(ids).toContain('collapsed:feature_group:tx');
    expect(ids).not.toContain('feature_group:tx@1');
    expect(ids).toContain('feature_group:tx@3');
    expect(ids).toContain('collapsed:runs:step:features.ipynb::feature:tx');
    expect(ids).not.toContain('run:r1');
    const old = drawn.nodes.find(n => n.id === 'collapsed:feature_group:tx')!;
    expect(old.members).toEqual(['feature_group:tx@1']);
    expect(old.sublabel).toBe('1 older versions');
    expect(drawn.edges).toContainEqual(
      expect.objectContaining({ source: 'collapsed:runs:step:features.ipynb::feature:tx', target: 'collapsed:feature_group:tx' })
    );
    // steps and runs sit in their notebook's box; data does not
    expect(drawn.groups).toEqual([{ id: 'group:/work/features.ipynb', label: 'features.ipynb' }]);
    expect(drawn.nodes.find(n => n.id === 'run:r3')!.group).toBe('group:/work/features.ipynb');
    expect(drawn.nodes.find(n => n.id === 'feature_group:tx@3')!.group).toBeNull();
  });

  it('marks stale nodes and colours by status', () => {
    const drawn = prepareGraph(graph());
    const model = drawn.nodes.find(n => n.id === 'model_version:fraud@1')!;
    expect(model.stale).toBe(true);
    expect(model.sublabel).toBe('model v1 · stale');
    expect(model.title).toContain('stale: read tx v3 at Delta version 1');
    expect(nodeColours(model)).toEqual({ fill: '#f3e5f5', stroke: '#ef6c00', dashed: true });
    const failed = drawn.nodes.find(n => n.id === 'run:r2')!;
    expect(nodeColours(failed).stroke).toBe('#c62828');
  });

  it('stays small at 500 nodes when old versions collapse', () => {
    const nodes: ILineageNode[] = [];
    const edges = [];
    for (let i = 1; i <= 250; i++) {
      nodes.push(node(`feature_group:g@${i}`), node(`model_version:m@${i}`));
      edges.push({ source: `feature_group:g@${i}`, target: `model_version:m@${i}`, relation: 'made_from' });
    }
    const drawn = prepareGraph({ nodes, edges }, { groupByNotebook: true, collapseOldVersions: true, keep: 2 });
    expect(drawn.nodes.length).toBe(6);
  });
});

describe('nodeAction', () => {
  it('opens the detail view of each kind', () => {
    const drawn = prepareGraph(graph(), { groupByNotebook: false, collapseOldVersions: false, keep: 2 });
    const action = (id: string) => nodeAction(drawn.nodes.find(n => n.id === id)!);
    expect(action('feature_group:tx@1')).toEqual({ type: 'featureGroup', name: 'tx' });
    expect(action('model_alias:fraud@production')).toEqual({ type: 'model', name: 'fraud' });
    expect(action('run:r1')).toEqual({ type: 'run', id: 'r1' });
    expect(action('step:features.ipynb::feature:tx')).toEqual(
      expect.objectContaining({ type: 'focus', kind: 'step' })
    );
    const outcomes = prepareGraph(
      { nodes: [node('outcome:fraud_online')], edges: [] },
      { groupByNotebook: false, collapseOldVersions: false, keep: 2 }
    );
    expect(nodeAction(outcomes.nodes[0])).toEqual({ type: 'business', deployment: 'fraud_online' });
  });
});

describe('parseLineage', () => {
  it('reads the REST answer', () => {
    const g = parseLineage({
      nodes: [{ id: 'feature_group:tx@1', kind: 'feature_group', name: 'tx', version: '1', who: 'ann',
        created_at: '2024', status: null, stale: false, reason: null, notebook: null, detail: {} }],
      edges: [{ source: 'a', target: 'b', relation: 'read', detail: {} }]
    });
    expect(g.nodes[0]).toEqual(expect.objectContaining({ id: 'feature_group:tx@1', createdAt: '2024' }));
    expect(g.edges[0].relation).toBe('read');
  });

  it('reads the graph a real server answers, and draws it', () => {
    const g = parseLineage(fixture('lineage'));
    const ids = new Set(g.nodes.map(n => n.id));
    expect(ids).toContain('feature_group:transactions@1');
    expect(ids).toContain('model_version:fraud@1');
    expect(g.edges.every(e => ids.has(e.source) && ids.has(e.target))).toBe(true);
    // the prepared lakehouse's shops has a version 2: the view over v1 is stale
    expect(g.nodes.find(n => n.id === 'feature_view:shop_risk@1')?.stale).toBe(true);
    const drawn = prepareGraph(g, { groupByNotebook: true, collapseOldVersions: true, keep: 2 });
    expect(drawn.nodes.length).toBeGreaterThan(0);
    expect(() => parseLineage({ nodes: [] })).toThrow('"edges" of the lineage graph must be a list');
  });
});
