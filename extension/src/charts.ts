/**
 * Small inline SVG charts (pure string builders; unit tested).
 */
import { IHistogram } from './endpoints';
import { formatMetric } from './format';

/**
 * The bars of a histogram scaled to a box: one `{x, y, width, height}` per bin,
 * the tallest bin filling the height; an empty bin gets no height.
 */
export function histogramBars(
  counts: number[],
  width: number,
  height: number,
  gap = 1
): { x: number; y: number; width: number; height: number }[] {
  const max = Math.max(0, ...counts);
  const n = counts.length;
  if (n === 0) {
    return [];
  }
  const slot = width / n;
  const barWidth = Math.max(1, slot - gap);
  return counts.map((count, i) => {
    const barHeight = max > 0 ? (count / max) * height : 0;
    const rounded = count > 0 ? Math.max(1, Math.round(barHeight * 10) / 10) : 0;
    return {
      x: Math.round(i * slot * 10) / 10,
      y: Math.round((height - rounded) * 10) / 10,
      width: Math.round(barWidth * 10) / 10,
      height: rounded
    };
  });
}

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/**
 * An inline SVG histogram; each bar's tooltip gives its range and count.
 * Colours come from the theme through CSS (`.jp-Lakebook-histogram rect`).
 */
export function histogramSvg(
  histogram: IHistogram,
  width = 120,
  height = 28,
  label = 'Histogram'
): string {
  const bars = histogramBars(histogram.counts, width, height);
  const total = histogram.counts.reduce((a, b) => a + b, 0);
  const rects = bars
    .map((bar, i) => {
      const lo = formatMetric(histogram.edges[i]);
      const hi = formatMetric(histogram.edges[i + 1]);
      const tip = `${lo} – ${hi}: ${histogram.counts[i]}`;
      return (
        `<rect x="${bar.x}" y="${bar.y}" width="${bar.width}" height="${bar.height}">` +
        `<title>${escapeXml(tip)}</title></rect>`
      );
    })
    .join('');
  return (
    `<svg class="jp-Lakebook-histogram" xmlns="http://www.w3.org/2000/svg" ` +
    `width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" ` +
    `aria-label="${escapeXml(`${label}: ${histogram.counts.length} bins, ${total} values`)}">` +
    `<line class="jp-Lakebook-histogramBase" x1="0" y1="${height - 0.5}" x2="${width}" y2="${height - 0.5}"/>` +
    rects +
    '</svg>'
  );
}

/**
 * A horizontal bar of `fraction` (0..1) of `width`, for metric comparisons.
 */
export function barSvg(fraction: number, width = 60, height = 6, best = false): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const w = Math.round(f * width * 10) / 10;
  return (
    `<svg class="jp-Lakebook-bar${best ? ' jp-mod-best' : ''}" xmlns="http://www.w3.org/2000/svg" ` +
    `width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" aria-hidden="true">` +
    `<rect class="jp-Lakebook-barTrack" x="0" y="0" width="${width}" height="${height}" rx="2"/>` +
    `<rect class="jp-Lakebook-barFill" x="0" y="0" width="${w}" height="${height}" rx="2"/>` +
    '</svg>'
  );
}
