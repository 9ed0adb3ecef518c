/**
 * Formatting and the inline SVG charts.
 */
import { barSvg, histogramBars, histogramSvg } from '../src/charts';
import {
  formatAgo,
  formatCount,
  formatDuration,
  formatLatency,
  formatMetric,
  formatPercent
} from '../src/format';

describe('format', () => {
  it.each([
    [0.049, '49 ms'],
    [3.456, '3.5 s'],
    [42.4, '42 s'],
    [185, '3 min 5 s'],
    [120, '2 min'],
    [7800, '2 h 10 min'],
    [null, '–']
  ])('duration %p is %p', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it('formats times relative to now', () => {
    const now = new Date('2024-05-01T12:00:00Z');
    expect(formatAgo('2024-05-01T11:59:50Z', now)).toBe('just now');
    expect(formatAgo('2024-05-01T11:55:00Z', now)).toBe('5 min ago');
    expect(formatAgo('2024-05-01T15:00:00Z', now)).toBe('in 3 h');
    expect(formatAgo('2024-04-28T12:00:00Z', now)).toBe('3 d ago');
    expect(formatAgo(null, now)).toBe('–');
    expect(formatAgo('not a time', now)).toBe('not a time');
  });

  it('formats numbers', () => {
    expect(formatCount(1234)).toBe('1,234');
    expect(formatCount(2_500_000)).toBe('2.5M');
    expect(formatMetric(0.93124)).toBe('0.9312');
    expect(formatMetric(12)).toBe('12');
    expect(formatMetric(0.00001234)).toBe('1.234e-5');
    expect(formatPercent(0.25)).toBe('25%');
    expect(formatPercent(0.025)).toBe('2.5%');
    expect(formatPercent(null)).toBe('–');
    expect(formatLatency(4.3468)).toBe('4.3 ms');
    expect(formatLatency(250.4)).toBe('250 ms');
    expect(formatLatency(1250)).toBe('1.25 s');
  });
});

describe('charts', () => {
  it('scales histogram bars to the tallest bin', () => {
    const bars = histogramBars([1, 4, 0, 2], 40, 20, 0);
    expect(bars.map(b => b.height)).toEqual([5, 20, 0, 10]);
    expect(bars.map(b => b.y)).toEqual([15, 0, 20, 10]);
    expect(bars.map(b => b.x)).toEqual([0, 10, 20, 30]);
    expect(histogramBars([], 40, 20)).toEqual([]);
    expect(histogramBars([0, 0], 40, 20).every(b => b.height === 0)).toBe(true);
  });

  it('draws an accessible SVG histogram with a tooltip per bin', () => {
    const svg = histogramSvg({ edges: [0, 1, 2], counts: [3, 1] }, 20, 10, 'Histogram of <x>');
    expect(svg.match(/<rect /g)).toHaveLength(2);
    expect(svg).toContain('<title>0 – 1: 3</title>');
    expect(svg).toContain('aria-label="Histogram of &lt;x&gt;: 2 bins, 4 values"');
  });

  it('draws comparison bars', () => {
    expect(barSvg(0.5, 60, 6)).toContain('width="30"');
    expect(barSvg(2, 60, 6)).toContain('width="60"');
    expect(barSvg(1, 60, 6, true)).toContain('jp-mod-best');
  });
});
