/**
 * Formatting of numbers, durations and times for the sidebar (pure; unit
 * tested).
 */

/**
 * `1,234`; `1.2M` beyond a million.
 */
export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return '–';
  }
  if (Math.abs(value) >= 1_000_000) {
    return new Intl.NumberFormat('en', {
      notation: 'compact',
      maximumFractionDigits: 1
    }).format(value);
  }
  return value.toLocaleString('en');
}

/**
 * `0.8 s`, `42 s`, `3 min 5 s`, `2 h 10 min`.
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '–';
  }
  if (seconds < 1) {
    return `${Math.max(0, Math.round(seconds * 1000))} ms`;
  }
  if (seconds < 10) {
    return `${seconds.toFixed(1)} s`;
  }
  const s = Math.round(seconds);
  if (s < 60) {
    return `${s} s`;
  }
  if (s < 3600) {
    const rest = s % 60;
    return rest ? `${Math.floor(s / 60)} min ${rest} s` : `${s / 60} min`;
  }
  const minutes = Math.round((s % 3600) / 60);
  return minutes ? `${Math.floor(s / 3600)} h ${minutes} min` : `${Math.floor(s / 3600)} h`;
}

/**
 * `12 ms`, `1.25 s`.
 */
export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) {
    return '–';
  }
  if (ms < 1) {
    return `${ms.toFixed(2)} ms`;
  }
  if (ms < 1000) {
    return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  }
  return `${(ms / 1000).toFixed(2)} s`;
}

/**
 * A time relative to `now`: `just now`, `5 min ago`, `in 3 h`, `2 d ago`.
 */
export function formatAgo(iso: string | null | undefined, now: Date = new Date()): string {
  if (!iso) {
    return '–';
  }
  const t = Date.parse(iso);
  if (Number.isNaN(t)) {
    return iso;
  }
  const diff = (t - now.getTime()) / 1000;
  const past = diff <= 0;
  const a = Math.abs(diff);
  let text: string;
  if (a < 45) {
    return past ? 'just now' : 'in a moment';
  } else if (a < 3600) {
    text = `${Math.max(1, Math.round(a / 60))} min`;
  } else if (a < 86400) {
    text = `${Math.round(a / 3600)} h`;
  } else {
    text = `${Math.round(a / 86400)} d`;
  }
  return past ? `${text} ago` : `in ${text}`;
}

/**
 * An absolute local time for tooltips.
 */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) {
    return '';
  }
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? iso : t.toLocaleString();
}

/**
 * A metric with four significant digits (`0.9312`, `12.35`, `1.235e+6`).
 */
export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return '–';
  }
  if (Number.isInteger(value) && Math.abs(value) < 1e6) {
    return String(value);
  }
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) {
    return value.toExponential(3);
  }
  return String(Number(value.toPrecision(4)));
}

/**
 * `25%`, `2.5%`, `0%`.
 */
export function formatPercent(share: number | null | undefined): string {
  if (share === null || share === undefined || !Number.isFinite(share)) {
    return '–';
  }
  const p = share * 100;
  return `${p > 0 && p < 10 ? p.toFixed(1) : Math.round(p)}%`;
}

/**
 * A cell value of a data preview.
 */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'number') {
    return formatMetric(value);
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}
