import { IFeatureGroup } from '../endpoints';
import { formatAgo, formatCount, formatTime } from '../format';
import { ResourceModel } from '../model';
import { KeyedList, button, ListSection, badge, h, setText } from './base';
import { ISidebarServices } from './services';

/**
 * "Feature groups": name, version, rows, online flag and last commit of every
 * group; a click opens the group's detail view in the main area.
 */
export class FeatureGroupsSection extends ListSection<IFeatureGroup[]> {
  constructor(options: FeatureGroupsSection.IOptions) {
    super({
      model: options.model,
      id: 'lakebook-section-features',
      label: 'Feature groups',
      caption: 'Feature groups of the lakehouse',
      errorTitle: 'Could not load the feature groups'
    });
    this.addClass('jp-Lakebook-features');
    this._services = options.services;
    const list = h('ul', 'jp-Lakebook-list');
    list.setAttribute('aria-label', 'Feature groups');
    this.content.append(list);
    this._list = new KeyedList<IFeatureGroup>(list, {
      key: g => `${g.name}@${g.version}`,
      create: g => this._createRow(g)
    });
  }

  protected emptyText(data: IFeatureGroup[]): string | null {
    return data.length
      ? null
      : 'No feature groups yet: mark a cell with %%feature and run it.';
  }

  protected renderData(data: IFeatureGroup[]): void {
    this.setCount(data.length, `${data.length} feature groups`);
    this._list.update(data);
  }

  private _createRow(group: IFeatureGroup): KeyedList.IEntry<IFeatureGroup> {
    const item = h('li', 'jp-Lakebook-item jp-Lakebook-featureGroup');
    const open = h('button', 'jp-Lakebook-itemMain');
    open.type = 'button';
    const name = h('span', 'jp-Lakebook-itemName');
    const version = h('span', 'jp-Lakebook-version');
    const online = badge('online', 'online', 'Served from the online store');
    const vectors = badge('vectors', 'vectors', 'Embedding columns');
    const rows = h('span', 'jp-Lakebook-rows jp-Lakebook-push');
    const line1 = h('span', 'jp-Lakebook-itemLine jp-mod-nowrap');
    line1.append(name, version, online, vectors, rows);
    const commit = h('span', 'jp-Lakebook-lastCommit');
    const line2 = h('span', 'jp-Lakebook-itemLine jp-Lakebook-itemMeta');
    line2.append(commit);
    open.append(line1, line2);
    open.addEventListener('click', () => this._services.openFeatureGroup(current.name));
    item.append(open);
    if (this._services.openLineage) {
      const lineage = button(
        'Lineage',
        () => this._services.openLineage?.({ kind: 'feature_group', name: current.name }, current.name),
        { className: 'jp-Lakebook-lineageButton', title: `Open the lineage of ${group.name}` }
      );
      item.append(lineage);
    }
    let current = group;
    return {
      node: item,
      update: g => {
        current = g;
        item.dataset.name = g.name;
        setText(name, g.name);
        setText(version, `v${g.version}`);
        online.hidden = !g.online;
        vectors.hidden = g.embeddings.length === 0;
        vectors.title = g.embeddings
          .map(e => `${e.column}: ${e.dim}-d ${e.metric}`)
          .join('; ');
        const commits = `${formatCount(g.commits)} commit${g.commits === 1 ? '' : 's'}`;
        const rowText = g.rows !== null ? `${formatCount(g.rows)} rows` : commits;
        rows.title = 'Rows in the table';
        rows.hidden = g.rows === null;
        setText(rows, g.rows !== null ? rowText : '');
        setText(
          commit,
          g.lastCommitAt
            ? `${commits}, last ${formatAgo(g.lastCommitAt)}` +
                (g.lastCommitBy ? ` by ${g.lastCommitBy}` : '')
            : 'no commits yet'
        );
        commit.title =
          formatTime(g.lastCommitAt) + (g.createdBy ? ` · created by ${g.createdBy}` : '');
        open.title = `Open ${g.name} v${g.version}: schema, statistics, commits and data`;
        open.setAttribute(
          'aria-label',
          `${g.name} version ${g.version}, ${rowText}${g.online ? ', online' : ''}`
        );
      }
    };
  }

  private _list: KeyedList<IFeatureGroup>;
  private _services: ISidebarServices;
}

export namespace FeatureGroupsSection {
  export interface IOptions {
    model: ResourceModel<IFeatureGroup[]>;
    services: ISidebarServices;
  }
}
