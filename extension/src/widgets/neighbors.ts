import { LakebookClient } from '../api';
import { IFeatureGroupDetail } from '../endpoints';
import { formatCount, formatValue } from '../format';
import { describe } from '../json';
import { h } from '../sections/base';

/**
 * "Similarity search" of an embedding group's detail view: each embedding
 * column with its dimension, metric and index state, and a search box (paste
 * a key, see its nearest rows).
 */
export function similaritySection(
  client: LakebookClient,
  g: IFeatureGroupDetail,
  table: (head: string[], rows: string[][], className?: string) => HTMLTableElement
): HTMLElement {
  const wrap = h('div', 'jp-Lakebook-similarity');
  const status = new Map(g.embeddingIndex.map(s => [s.column, s]));
  wrap.append(
    table(
      ['Embedding column', 'Dimension', 'Metric', 'Index', 'Indexed', 'Pending'],
      g.embeddings.map(e => {
        const s = status.get(e.column);
        return [
          e.column,
          String(e.dim),
          e.metric,
          s?.state ?? (g.online ? 'not built' : 'offline (exact search only)'),
          formatCount(s?.indexed ?? null),
          formatCount(s?.pending ?? null)
        ];
      }),
      'jp-Lakebook-embeddingsTable'
    )
  );
  if (!g.online) {
    wrap.append(
      h('p', 'jp-Lakebook-empty', 'The group is not online: search it with fg.find_neighbors(..., exact=True).')
    );
    return wrap;
  }
  const form = h('form', 'jp-Lakebook-neighborsForm');
  const keyName = g.keys.join(', ');
  const input = h('input', 'jp-mod-styled jp-Lakebook-neighborsKey');
  input.placeholder = g.keys.length > 1 ? `{"${g.keys.join('": …, "')}": …}` : `${keyName}`;
  input.setAttribute('aria-label', `Key (${keyName}) to find the nearest rows of`);
  const k = h('input', 'jp-mod-styled jp-Lakebook-neighborsK');
  k.type = 'number';
  k.min = '1';
  k.max = '100';
  k.value = '5';
  k.setAttribute('aria-label', 'How many neighbours');
  let column: HTMLSelectElement | null = null;
  if (g.embeddings.length > 1) {
    column = h('select', 'jp-mod-styled');
    column.setAttribute('aria-label', 'Embedding column');
    for (const e of g.embeddings) {
      const option = h('option', undefined, e.column);
      option.value = e.column;
      column.append(option);
    }
  }
  const button = h('button', 'jp-mod-styled jp-mod-accept', 'Find nearest');
  button.type = 'submit';
  form.append(input, k, ...(column ? [column] : []), button);
  const results = h('div', 'jp-Lakebook-neighborsResults');
  results.setAttribute('aria-live', 'polite');
  form.addEventListener('submit', event => {
    event.preventDefault();
    void search();
  });

  async function search(): Promise<void> {
    const text = input.value.trim();
    if (!text) {
      results.replaceChildren(h('p', 'jp-Lakebook-empty', `Paste a ${keyName} first.`));
      return;
    }
    let key: unknown = text;
    try {
      key = JSON.parse(text);
    } catch {
      key = text; // a plain string key
    }
    button.disabled = true;
    try {
      const found = await client.neighbors(g.name, {
        key,
        k: Number(k.value) || 5,
        version: g.version,
        ...(column ? { col: column.value } : {})
      });
      if (found.neighbors.length === 0) {
        results.replaceChildren(h('p', 'jp-Lakebook-empty', 'No neighbours.'));
        return;
      }
      const wrapTable = h('div', 'jp-Lakebook-scroll');
      wrapTable.append(
        table(
          found.columns,
          found.neighbors.map(row => found.columns.map(c => formatValue(row[c]))),
          'jp-Lakebook-neighborsTable'
        )
      );
      results.replaceChildren(wrapTable);
    } catch (reason) {
      const error = h('div', 'jp-Lakebook-error');
      error.setAttribute('role', 'alert');
      error.append(h('span', 'jp-Lakebook-errorText', describe(reason)));
      results.replaceChildren(error);
    } finally {
      button.disabled = false;
    }
  }

  wrap.append(form, results);
  return wrap;
}
