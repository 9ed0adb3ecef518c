/**
 * What the sections show, derived from the API's answers (pure functions, no
 * DOM or JupyterLab imports; unit tested).
 */
import {
  IDeployment,
  IModelVersion,
  IPipeline,
  IRun,
  MetricDirection,
  ISchedule,
  IStep,
  IStepTail,
  RunStatus,
  isActiveStatus,
  targetsStep,
  IHeadline
} from './endpoints';

/**
 * Whether any run is queued or running (the section then polls faster).
 */
export function hasActiveRuns(state: { runs: IRun[] }): boolean {
  return state.runs.some(r => isActiveStatus(r.status));
}

/**
 * Fraction of the cells of a running run that are done (null if unknown).
 */
export function runFraction(run: IRun): number | null {
  const p = run.progress;
  if (!p || !p.cells) {
    return run.status === 'succeeded' ? 1 : null;
  }
  const perStage = Math.min(1, p.done / p.cells);
  const stages = Math.max(1, p.stages);
  return Math.min(1, (Math.max(0, p.stage - 1) + perStage) / stages);
}

export const STATUS_LABELS: Record<RunStatus, string> = {
  queued: 'queued',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  timed_out: 'timed out',
  cancelled: 'cancelled',
  skipped: 'skipped',
  up_to_date: 'up to date',
  unknown: 'unknown'
};

/**
 * The latest run of each named pipeline (runs are newest first).
 */
export function lastRunByPipeline(pipelines: IPipeline[], runs: IRun[]): Map<string, IRun> {
  const out = new Map<string, IRun>();
  for (const p of pipelines) {
    const run = runs.find(r => r.target.pipeline === p.name);
    if (run) {
      out.set(p.name, run);
    }
  }
  return out;
}

/**
 * The latest run started by each schedule.
 */
export function lastRunBySchedule(runs: IRun[]): Map<number, IRun> {
  const out = new Map<number, IRun>();
  for (const run of runs) {
    if (run.scheduleId === null) {
      continue;
    }
    const seen = out.get(run.scheduleId);
    if (!seen || (run.queuedAt ?? '') > (seen.queuedAt ?? '')) {
      out.set(run.scheduleId, run);
    }
  }
  return out;
}


/**
 * The steps of one notebook with their schedules and runs.
 */
export interface INotebookState {
  /** Path of the notebook relative to the server root. */
  path: string;
  steps: IStep[];
  /** The code cells after the notebook's last step, if any (a whole-notebook run runs them). */
  tail: IStepTail | null;
  schedules: ISchedule[];
  runs: IRun[];
}

/**
 * One step with what the sidebar shows about it.
 */
export interface IStepView {
  step: IStep;
  schedules: ISchedule[];
  lastRun: IRun | null;
  lastOutput: IRun | null;
}

/**
 * Join each step with its schedules, its latest run and its latest run
 * that left an executed notebook (runs are newest first).
 */
export function stepViews(state: INotebookState): IStepView[] {
  return state.steps.map(step => {
    const runs = state.runs.filter(r => targetsStep(r.target, step));
    return {
      step,
      schedules: state.schedules.filter(s => targetsStep(s.target, step)),
      lastRun: runs[0] ?? null,
      lastOutput: runs.find(r => r.outputPath !== null && !isActiveStatus(r.status)) ?? null
    };
  });
}


/**
 * The metrics shown in a one-line summary, most telling first.
 */
export function keyMetrics(metrics: Record<string, number>, max = 3): [string, number][] {
  const preferred = [
    'roc_auc',
    'f1',
    'accuracy',
    'precision',
    'recall',
    'r2',
    'rmse',
    'mae',
    'log_loss'
  ];
  const entries = Object.entries(metrics);
  entries.sort(([a], [b]) => {
    const ia = preferred.indexOf(a);
    const ib = preferred.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  return entries.slice(0, max);
}


/**
 * `fraud @production · served v3` / `fraud v2 (pinned)`.
 */
export function servedText(d: IDeployment): string {
  if (d.alias) {
    // The alias may have moved since: say which version answered last.
    return `${d.model} @${d.alias}${d.servedVersion !== null ? ` · served v${d.servedVersion}` : ''}`;
  }
  return `${d.model} v${d.version ?? d.servedVersion ?? '?'} (pinned)`;
}


/**
 * Per metric: the versions' values, the best version, and each value's
 * position between the worst (0) and the best (1).
 */
export interface IMetricRow {
  metric: string;
  /** Which way is better, as the server says; null when it did not say. */
  direction: MetricDirection | null;
  values: (number | null)[];
  /** The best version; null when the direction is not known. */
  best: number | null;
  scaled: (number | null)[];
}

/**
 * Compare versions metric by metric. `directions` come from the server (the
 * registry's rule); a metric without one gets no "best" and bars by value.
 */
export function compareVersions(
  versions: IModelVersion[],
  directions: Record<string, MetricDirection>
): IMetricRow[] {
  const metrics = Array.from(new Set(versions.flatMap(v => Object.keys(v.metrics)))).sort();
  return metrics.map(metric => {
    const values = versions.map(v => (metric in v.metrics ? v.metrics[metric] : null));
    const known = values.filter((x): x is number => x !== null);
    const direction = directions[metric] ?? null;
    const up = direction !== 'lower';
    let best: number | null = null;
    let bestValue: number | null = null;
    versions.forEach((v, i) => {
      const x = values[i];
      if (x === null || direction === null) {
        return;
      }
      // Ties go to the newest version.
      const better = bestValue === null || (up ? x > bestValue : x < bestValue);
      if (better || (x === bestValue && v.version > (best ?? 0))) {
        best = v.version;
        bestValue = x;
      }
    });
    const lo = Math.min(...known);
    const hi = Math.max(...known);
    const scaled = values.map(x => {
      if (x === null) {
        return null;
      }
      if (hi === lo) {
        return 1;
      }
      const t = (x - lo) / (hi - lo);
      return up ? t : 1 - t;
    });
    return { metric, direction, values, best, scaled };
  });
}

/** "money_saved 1,234 ▲": the headline KPI of a deployment and its trend. */
export function headlineText(headline: IHeadline | null): string {
  if (!headline || !headline.kpi) {
    return '';
  }
  const value =
    headline.value === null
      ? 'no outcomes yet'
      : headline.value.toLocaleString('en-US', { maximumFractionDigits: 3 });
  const arrow =
    headline.trend === 'up' ? ' ▲' : headline.trend === 'down' ? ' ▼' : headline.trend === 'flat' ? ' ▶' : '';
  return `${headline.kpi} ${value}${arrow}`;
}
