"""``lakebook demo``: the whole fraud system, headless, through the real machinery.

The demo writes the example notebooks, then runs the first four the way a scheduler would: the
feature pipeline backfilled over a few windows (``lh.pipelines.backfill``), the training
pipeline, batch inference and the online deployment (papermill runs of the notebooks' steps),
a few payments answered online from this process, two weeks of drifted data through the
feature and inference pipelines, the monitor raising its alert, and the retrain that alert
calls for. It prints each step as it goes and ends by saying how to open JupyterLab.
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..shared.errors import LakebookError
from . import DEFAULT_SIZE
from .data import FraudData, as_utc, generate, haversine_km, new_transactions
from .notebooks import write_notebooks

#: The default size runs in well under 3 minutes on 2 cores.
NOTEBOOK_NAMES = ("1_feature_pipeline.ipynb", "2_training_pipeline.ipynb",
                  "3_inference_pipeline.ipynb", "4_monitoring.ipynb")
MODEL = "fraud_model"
ONLINE = "fraud_online"
BATCH = "fraud_batch"
MONITOR = "fraud_drift"


class DemoFailed(LakebookError):
    """A step of the demo did not do what it should (a bug, not the user's input)."""


@dataclass
class DemoSettings:
    """The simulated world and the demo's timeline."""

    size: int = DEFAULT_SIZE
    seed: int = 42
    data_start: str = "2024-01-01"
    days: int = 90
    drift_after: str = "2024-03-01"
    drift_days: int = 14
    eval_days: int = 7
    backfill_every: str = "15d"
    drift_every: str = "7d"
    drift_threshold: float = 0.3
    #: cards paying in the week of the A/B split (a tenth meet the challenger)
    split_cards: int = 400

    def world(self) -> dict[str, Any]:
        """The parameters every notebook's ``parameters`` cell declares for the world."""
        return {"size": self.size, "seed": self.seed, "data_start": self.data_start,
                "days": self.days, "drift_after": self.drift_after}


@dataclass
class DemoReport:
    """What the demo did (also returned to tests)."""

    home: str
    notebooks: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, step: str, **facts: Any) -> dict[str, Any]:
        entry = {"step": step, **facts}
        self.steps.append(entry)
        return entry

    def get(self, step: str) -> dict[str, Any]:
        return next(s for s in self.steps if s["step"] == step)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def find_notebooks(home: Path, notebooks: str | Path | None = None) -> Path:
    """Where the demo's notebooks live: ``notebooks`` if given; else ``./notebooks`` when it
    holds the four examples (running from the repository); else ``<home>/notebooks``. The
    notebooks are (re)written from :mod:`kernel_magics.demo.notebooks` when missing."""
    if notebooks is not None:
        folder = Path(notebooks)
    elif all((Path("notebooks") / n).is_file() for n in NOTEBOOK_NAMES):
        folder = Path("notebooks")
    else:
        folder = Path(home) / "notebooks"
    folder = folder.resolve()
    if not all((folder / n).is_file() for n in NOTEBOOK_NAMES):
        write_notebooks(folder)
    return folder


class Demo:
    """Runs the fraud system end to end on a lakehouse; see :func:`run_demo`."""

    def __init__(self, lh: Any, settings: DemoSettings | None = None,
                 notebooks: str | Path | None = None, console: Console | None = None) -> None:
        self.lh = lh
        self.settings = settings or DemoSettings()
        self.console = console or Console()
        self.folder = find_notebooks(lh.home, notebooks)
        self.report = DemoReport(home=str(lh.home), notebooks=str(self.folder))
        self._data: FraudData | None = None
        self._step = 0

    # -- helpers -----------------------------------------------------------------------------
    STEPS = 11

    def _title(self, text: str) -> None:
        self._step += 1
        self.console.rule(f"[bold]{self._step}/{self.STEPS} · {text}", align="left")

    def nb(self, name: str) -> str:
        return str(self.folder / name)

    @property
    def data(self) -> FraudData:
        if self._data is None:
            s = self.settings
            self._data = generate(s.size, seed=s.seed, start=s.data_start, days=s.days,
                                  drift_after=s.drift_after)
        return self._data

    def _check_run(self, run: Any, what: str) -> Any:
        if run.status != "succeeded":
            err = run.error or {}
            raise DemoFailed(f"The {what} run {run.id} {run.status}: {err.get('ename', '')} "
                             f"{err.get('evalue', '')}".strip(),
                             f"Open its executed notebook: {run.output_path}")
        return run

    def _runs_with_progress(self, label: str, total: int, start: Callable[[], list]) -> list:
        """Run ``start`` (which executes ``total`` runs) with a progress bar fed by the
        catalog, so the bar moves as each papermill run finishes."""
        before = {r.id for r in self.lh.pipelines.runs.list(limit=500)}
        result: dict[str, Any] = {}

        def work() -> None:
            try:
                result["runs"] = start()
            except BaseException as exc:  # re-raised below, in the main thread
                result["error"] = exc

        thread = threading.Thread(target=work, name="lakebook-demo", daemon=True)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} runs"), TimeElapsedColumn(),
                      console=self.console, transient=False) as progress:
            task = progress.add_task(label, total=total)
            thread.start()
            while thread.is_alive():
                thread.join(0.5)
                done = sum(1 for r in self.lh.pipelines.runs.list(limit=500)
                           if r.id not in before and r.done)
                progress.update(task, completed=min(done, total))
            progress.update(task, completed=total)
        if "error" in result:
            raise result["error"]
        return result["runs"]

    def _run(self, label: str, notebook: str, step: str | list[str] | None = None,
             params: dict[str, Any] | None = None, window: Any = None) -> Any:
        runs = self._runs_with_progress(label, 1, lambda: [self.lh.pipelines.run(
            self.nb(notebook), step=step, params=params, window=window)])
        return self._check_run(runs[0], label)

    # -- the steps -----------------------------------------------------------------------------
    def step_world(self) -> None:
        self._title("A simulated card-payment world")
        t0 = time.perf_counter()
        summary = self.data.summary()
        patterns = ", ".join(f"{v} {k}" for k, v in summary["patterns"].items())
        self.console.print(
            f"{summary['transactions']:,} transactions of {summary['cards']:,} cards at "
            f"{summary['merchants']:,} merchants, {summary['start'][:10]} .. "
            f"{summary['end'][:10]}; fraud rate {summary['fraud_rate']:.2%} ({patterns}). "
            f"Spending drifts after {self.settings.drift_after}. "
            f"[dim]({time.perf_counter() - t0:.1f}s)[/]")
        self.console.print(f"Lakehouse: [bold]{self.lh.home}[/]   notebooks: [bold]{self.folder}[/]")
        self.report.add("world", **summary)

    def step_features(self) -> None:
        s = self.settings
        self._title("Feature pipeline: backfill (1_feature_pipeline.ipynb)")
        delta = pd.Timedelta(s.backfill_every.replace("d", "D"))
        start, end = as_utc(s.data_start), as_utc(s.drift_after)
        total = -(-(end - start) // delta)
        runs = self._runs_with_progress(
            f"backfill every {s.backfill_every}", int(total),
            lambda: self.lh.pipelines.backfill(self.nb(NOTEBOOK_NAMES[0]), start, end,
                                               every=s.backfill_every, params=s.world()))
        for run in runs:
            self._check_run(run, "feature backfill")
        self.console.print(f"{len(runs)} windows, each a papermill run of the notebook's "
                           "three %%feature steps:")
        self.console.print(self._groups_table())
        self.report.add("features", runs=[r.id for r in runs],
                        rows={g.name: _rows(g) for g in self.lh.features.groups.list()})

    def _groups_table(self) -> Table:
        table = Table(show_header=True, header_style="bold")
        for col in ("feature group", "rows", "online", "Delta version"):
            table.add_column(col)
        for g in self.lh.features.groups.list():
            table.add_row(g.name, f"{_rows(g):,}", "yes" if g.online else "no",
                          str(g.delta_version()))
        return table

    def step_training(self) -> None:
        self._title("Training pipeline (2_training_pipeline.ipynb)")
        run = self._run("train fraud_model", NOTEBOOK_NAMES[1])
        mv = self.lh.registry.get(MODEL, alias="production")
        self.console.print(
            f"Registered {MODEL} v{mv.version} (alias production): ROC AUC "
            f"{mv.metrics.get('roc_auc', float('nan')):.3f}, average precision "
            f"{mv.metrics.get('average_precision', float('nan')):.3f} on 20% of the labels held "
            f"out (a random guess scores {self.data.fraud_rate:.3f}).")
        self.report.add("training", run=run.id, version=mv.version, metrics=mv.metrics)

    def step_inference(self) -> None:
        s = self.settings
        self._title("Inference pipeline: batch scoring and the online deployment "
                    "(3_inference_pipeline.ipynb)")
        end = as_utc(s.drift_after)
        window = (end - pd.Timedelta(days=7), end)
        run = self._run("score the newest week", NOTEBOOK_NAMES[2], params=s.world(),
                        window=window)
        scored = _table_rows(self.lh, f"predictions_{BATCH}")
        self.console.print(f"Batch: scored {window[0]:%Y-%m-%d} .. {end:%Y-%m-%d} into "
                           f"predictions_{BATCH} ({scored:,} rows). Online deployment "
                           f"[bold]{ONLINE}[/] created and answering.")
        self.report.add("inference", run=run.id, predictions=scored)

    def step_online(self) -> None:
        from .features import stream_features
        s = self.settings
        self._title(f"Online: payments scored one by one by deployment {ONLINE}")
        dep = self.lh.deployments.get(ONLINE)
        at = as_utc(s.drift_after) + pd.Timedelta(hours=2)
        fresh = new_transactions(self.data, 8, at=at, seed=s.seed + 1)
        self.lh.features.groups.get("card_transactions").insert(
            stream_features(self.data, fresh), mode="upsert")
        table = Table(show_header=True, header_style="bold")
        for col in ("card", "amount", "km from home", "P(fraud)", "flagged", "truth", "latency"):
            table.add_column(col, justify="right")
        answers = []
        homes = self.data.cards.merge(self.data.customers, on="customer_id").set_index("cc_num")
        for i, p in enumerate(fresh.drop_duplicates("cc_num", keep="last").itertuples()):
            t0 = time.perf_counter()
            answer = dep.predict({"cc_num": int(p.cc_num)})
            ms = (time.perf_counter() - t0) * 1000
            proba = (answer.get("probabilities") or {}).get("1")
            home = homes.loc[p.cc_num]
            km = float(haversine_km(p.lat, p.lon, home["home_lat"], home["home_lon"]))
            answers.append({"cc_num": int(p.cc_num), "p_fraud": proba,
                            "prediction": answer.get("prediction"), "truth": int(p.is_fraud),
                            "latency_ms": ms})
            table.add_row(f"…{str(p.cc_num)[-4:]}", f"${p.amount:,.2f}", f"{km:,.0f}",
                          "–" if proba is None else f"{proba:.2f}",
                          "[red]yes[/]" if answer.get("prediction") == 1 else "no",
                          "fraud" if p.is_fraud else "ok",
                          f"{ms:.1f} ms" + (" (loads the model)" if i == 0 else ""))
        dep.flush()
        self.console.print(table)
        self.report.add("online", answers=answers)

    def step_monitor(self) -> None:
        s = self.settings
        self._title(f"Monitoring: monitor {MONITOR} on what {BATCH} scores")
        monitor = self.lh.create_monitor(MONITOR, deployment=BATCH, reference="training",
                                         current="last 7d", threshold=s.drift_threshold,
                                         on_drift="retrain", schedule="@daily", replace=True)
        result = monitor.run(now=as_utc(s.drift_after))
        self._print_result(result, "before the drift")
        self.report.add("monitor", status=result.status, drift_share=result.drift_share,
                        drifted_columns=result.drifted_columns)

    def _print_result(self, result: Any, when: str) -> None:
        colour = "red" if result.status == "drift" else "green"
        share = result.drift_share or 0.0
        self.console.print(f"{when}: [bold {colour}]{result.status}[/] — "
                           f"{share:.0%} of the features drifted "
                           f"(alert at {self.settings.drift_threshold:.0%}); "
                           f"{result.current_rows or 0:,} scored rows against "
                           f"{result.reference_rows or 0:,} training rows.")
        if result.drifted_columns:
            self.console.print("drifted: " + ", ".join(result.drifted_columns))
        if result.reason:
            self.console.print(f"[dim]{result.reason}[/]")

    def step_drift(self) -> None:
        s = self.settings
        self._title("Time passes: two weeks of drifted spending, then the monitor again")
        start = as_utc(s.drift_after)
        end = start + pd.Timedelta(days=s.drift_days)
        delta = pd.Timedelta(s.drift_every.replace("d", "D"))
        n = int(-(-(end - start) // delta))
        runs = self._runs_with_progress(
            f"features every {s.drift_every}", n,
            lambda: self.lh.pipelines.backfill(self.nb(NOTEBOOK_NAMES[0]), start, end,
                                               every=s.drift_every, params=s.world()))
        for run in runs:
            self._check_run(run, "feature pipeline")
        batch = self._run("batch inference", NOTEBOOK_NAMES[2], step=BATCH, params=s.world(),
                          window=(start, end))
        scored = _table_rows(self.lh, f"predictions_{BATCH}")
        self.console.print(f"{n} feature windows and one batch run over {start:%Y-%m-%d} .. "
                           f"{end:%Y-%m-%d}; predictions_{BATCH} has {scored:,} rows.")
        result = self.lh.monitoring.get(MONITOR).run(now=end)
        self._print_result(result, "after the drift")
        alerts = [a for a in self.lh.monitoring.alerts.list(MONITOR) if a["result_id"] == result.id]
        for alert in alerts:
            self.console.print(f"[bold red]alert[/] {alert['message']}")
            action = alert.get("action") or {}
            if action.get("run_id"):
                self.console.print(f"The alert queued retraining run {action['run_id']} "
                                   f"({Path(action['notebook']).name}::{action['step']}).")
        self.report.add("drift", runs=[r.id for r in runs] + [batch.id], predictions=scored,
                        status=result.status, drift_share=result.drift_share,
                        drifted_columns=result.drifted_columns,
                        alerts=[a["id"] for a in alerts],
                        retrain_run=next((a["action"].get("run_id") for a in alerts
                                          if a.get("action")), None))

    def step_retrain(self) -> None:
        s = self.settings
        self._title("The loop closes: the retrain the alert queued (2_training_pipeline.ipynb)")
        before = self.lh.registry.get(MODEL, alias="production")
        run_id = self.report.get("drift").get("retrain_run")
        if run_id is None:
            raise DemoFailed("The drift raised no alert, so nothing was retrained.",
                             "See the monitor's result above; a larger --size gives the drift "
                             "tests more rows.")
        queued = self.lh.pipelines.runs.get(run_id)
        runs = self._runs_with_progress("retrain fraud_model", 1, lambda: [queued.wait(900)])
        run = self._check_run(runs[0], "retrain")
        new = self.lh.registry.versions(MODEL)[-1]
        if new.version == before.version:
            raise DemoFailed("The retrain registered no new model version.",
                             f"Open its executed notebook: {run.output_path}")
        # champion vs challenger on the following week, which neither model has seen
        from sklearn.metrics import average_precision_score
        start = as_utc(s.drift_after) + pd.Timedelta(days=s.drift_days)
        end = start + pd.Timedelta(days=s.eval_days)
        self._run("features of the next week", NOTEBOOK_NAMES[0],
                  step=["card_transactions", "fraud_labels"], params=s.world(),
                  window=(start, end))
        judge = self.lh.features.views.get("fraud_view").training_data(start=start, end=end)
        scores = {}
        for mv in self.lh.registry.versions(MODEL):  # every live version, any framework
            p = mv.predict_proba(judge)[:, 1]
            scores[mv.version] = float(average_precision_score(judge["is_fraud"], p))
        self.lh.registry.set_alias(MODEL, "challenger", new.version,
                                   reason="retrained after the drift alert")
        self.console.print(
            f"{MODEL} v{new.version} registered by run {run.id} (alias challenger). On the "
            f"week after ({start:%Y-%m-%d} .. {end:%Y-%m-%d}, {len(judge):,} labelled "
            "payments), average precision: "
            + ", ".join(f"v{v} {sc:.3f}" for v, sc in scores.items())
            + ". Whether it goes to production is decided by what it earns (next step).")
        self.report.add("retrain", run=run.id, before=before.version, new=new.version,
                        scores=scores)
        self._next_week = (start, end)

    def step_lineage(self) -> None:
        self._title("Lineage: where the production model comes from")
        t0 = time.perf_counter()
        # the retrained version: production when it won the judging, else the challenger
        prod = self.lh.registry.versions(MODEL)[-1]
        role = "production" if "production" in prod.aliases else "the retrained challenger"
        graph = self.lh.lineage(prod, downstream=False)
        seconds = time.perf_counter() - t0
        upstream = graph.upstream_of("model_version", MODEL, prod.version)
        order = ["feature_group", "feature_view", "training_set", "step", "run", "monitor",
                 "monitor_result", "alert", "model_alias", "model_version", "deployment"]
        table = Table(show_header=True, header_style="bold")
        for col in ("kind", "what", "made by", "when", "state"):
            table.add_column(col)
        shown = sorted((n for n in upstream if n.kind in order),
                       key=lambda n: (order.index(n.kind), n.name, n.version or ""))
        for n in shown:
            what = n.name + (f" v{n.version}" if n.version and n.kind != "training_set" else "")
            if n.kind == "run":
                what = f"{n.name} {n.detail.get('label', '')}".strip()
            state = "stale" if n.stale else (n.status or "")
            table.add_row(n.kind.replace("_", " "), what, n.who or "", (n.created_at or "")[:19],
                          state)
        self.console.print(f"{MODEL} v{prod.version} ({role}) was made from "
                           f"{len(upstream)} recorded objects [dim](lh.lineage in "
                           f"{seconds * 1000:.0f} ms)[/]:")
        self.console.print(table)
        monitors = [n.name for n in upstream if n.kind == "monitor"]
        if monitors:
            self.console.print(f"Its retrain was triggered by monitor [bold]{monitors[0]}[/]'s "
                               "alert: the loop is in the graph.")
        self.report.add("lineage", nodes=len(graph), upstream=len(upstream),
                        kinds=sorted({n.kind for n in upstream}), monitors=monitors,
                        seconds=seconds)

    def step_incremental(self) -> None:
        s = self.settings
        self._title("Incremental: the feature pipeline again, unchanged, then one parameter")
        window = getattr(self, "_next_week", None)
        steps = ["card_transactions", "fraud_labels"]
        t0 = time.perf_counter()
        run = self.lh.pipelines.run(self.nb(NOTEBOOK_NAMES[0]), step=steps, params=s.world(),
                                    window=window)
        seconds = time.perf_counter() - t0
        if run.status == "up_to_date":
            self.console.print(f"run {run.id}: [bold green]up to date, skipped[/] in "
                               f"{seconds:.2f}s (no kernel started): code, parameters, window, "
                               "inputs and packages are those of its last successful run.")
        else:
            self.console.print(f"run {run.id}: {run.status} ({seconds:.1f}s)")
        changed = {**s.world(), "seed": s.seed + 1}
        why = self.lh.pipelines.why(f"{self.nb(NOTEBOOK_NAMES[0])}::card_transactions",
                                    params=changed, window=window)
        self.console.print("With seed changed, card_transactions would run: "
                           + "; ".join(why.reasons) + ".", highlight=False)
        self.report.add("incremental", run=run.id, status=run.status, seconds=seconds,
                        reasons=why.reasons)

    def step_business(self) -> None:
        from .features import stream_features
        s = self.settings
        self._title("Business results: money saved per week, then a 90/10 split decides")
        before = self.report.get("retrain")["before"]
        new = self.report.get("retrain")["new"]
        row = self.lh.deployments.definition(BATCH)
        # the labels the feature pipeline already ingests are the outcomes: no extra code
        batch = self.lh.deploy(BATCH, model=MODEL, alias=row["alias"] or "production",
                               kind="batch", outcomes="fraud_labels")
        for dep in (batch, self.lh.deployments.get(ONLINE)):
            dep.kpi("money_saved", "sum(amount) FILTER (WHERE y_pred AND y_true)",
                    description="fraud amount caught")
            dep.kpi("review_cost", "count(*) FILTER (WHERE y_pred) * 2.5", better="lower",
                    description="2.50 per payment sent to review")
            dep.kpi("net_value", "coalesce(sum(amount) FILTER (WHERE y_pred AND y_true), 0) "
                    "- count(*) FILTER (WHERE y_pred) * 2.5",
                    description="money saved minus review cost")
        start = as_utc(s.drift_after)
        end = start + pd.Timedelta(days=s.drift_days + s.eval_days)
        old, retrained = f"v{before}", f"v{new}"
        # the old version scored the drift weeks already; it scores the new week, the
        # retrained one all of them
        batch.batch(start + pd.Timedelta(days=s.drift_days), end, arm=old)
        batch.batch(start, end, arm=retrained)
        weekly = batch.kpis(every="1w", start=start, end=end)
        table = Table(show_header=True, header_style="bold")
        for col in ("week of", "version", "money saved", "review cost", "outcomes"):
            table.add_column(col, justify="right")
        # totals: a version's rows of one week may come from runs with and without an arm
        shown = weekly[weekly.kpi.isin(["money_saved", "review_cost"])].pivot_table(
            index=["window_start", "version"], columns="kpi", values="value", aggfunc="sum")
        coverage = weekly[weekly.kpi == "money_saved"].groupby(
            ["window_start", "version"])[["coverage", "n"]].sum()
        for (week, version), values in shown.iterrows():
            cov = coverage.loc[(week, version)]
            table.add_row(f"{week:%Y-%m-%d}", f"v{version}",
                          f"${values.get('money_saved', 0) or 0:,.0f}",
                          f"${values.get('review_cost', 0) or 0:,.0f}",
                          f"{int(cov.coverage):,}/{int(cov.n):,}")
        self.console.print(table)
        # the following week's traffic, 90/10 between the old and the retrained version
        online = self.lh.deployments.get(ONLINE).route(split={old: 0.9, retrained: 0.1})
        at = end + pd.Timedelta(hours=1)
        # each card at most once (a card drawn twice could pay twice in the same second)
        fresh = new_transactions(self.data, min(s.split_cards, len(self.data.cards)), at=at,
                                 seed=s.seed + 2, fraud_share=0.3)
        self.lh.features.groups.get("card_transactions").insert(
            stream_features(self.data, fresh), mode="upsert")
        last = fresh.drop_duplicates("cc_num", keep="last")
        outcomes = []
        for p in last.itertuples():
            answer = online.predict_body({"entries": [{"cc_num": int(p.cc_num)}]})
            outcomes.append({"request_id": answer.request_id, "outcome": int(p.is_fraud),
                             "at": p.ts})
        online.flush()
        # chargebacks arrive: what really happened to each answered payment
        self.lh.outcomes.insert(pd.DataFrame(outcomes), deployment=ONLINE)
        verdict = online.compare_arms("net_value", start=at)
        for arm in verdict["arms"]:
            self.console.print(
                f"  {arm['arm']:<11} v{arm['version']}: {arm['n']:>4} payments, net value "
                f"${(arm['value'] or 0):,.2f} per payment "
                f"(95% {arm['ci_low'] or 0:,.2f} .. {arm['ci_high'] or 0:,.2f})")
        self.console.print(verdict["verdict"])
        # the winner gets production (the training step's --promote-if-better may have moved
        # it on held-out average precision already; money decides now)
        online.promote(verdict.get("best") or old)
        production = self.lh.registry.get(MODEL, alias="production").version
        self.console.print(
            f"Promoted by net value, not by average precision alone: production -> "
            f"v{production} (v{before} before, v{new} retrained); the split has ended and "
            "both deployments follow the alias. The sidebar's deployments show the KPIs.")
        self.report.add("business", weekly=len(weekly), arms=verdict["arms"],
                        best=verdict.get("best"), significant=verdict["significant"],
                        production=production)

    def finish(self) -> None:
        from ..config import resolve_home
        self.console.rule("[bold green]Done", align="left")
        try:
            default_home = resolve_home(None)[0].resolve() == Path(self.lh.home).resolve()
        except LakebookError:
            default_home = False
        how = ("    [bold]make lab[/]        (or: [bold].venv/bin/jupyter lab[/])"
               if default_home else
               f"    [bold]LAKEBOOK_HOME={self.lh.home} .venv/bin/jupyter lab[/]")
        self.console.print(
            f"The whole system ran in {self.report.seconds:.0f}s. To see it all in JupyterLab's "
            "Lakebook sidebar (feature groups, models and aliases, deployments, runs with their "
            "executed notebooks, the monitor and its alert), run\n\n" + how + "\n\n"
            f"from {Path.cwd()} and open the notebooks in {self.folder}.")

    def run(self) -> DemoReport:
        t0 = time.perf_counter()
        for step in (self.step_world, self.step_features, self.step_training,
                     self.step_inference, self.step_online, self.step_monitor,
                     self.step_drift, self.step_retrain, self.step_lineage,
                     self.step_incremental, self.step_business):
            step()
        self.report.seconds = time.perf_counter() - t0
        self.finish()
        return self.report


def _rows(group: Any) -> int:
    """Rows in a feature group's current Delta table."""
    return _delta_rows(Path(group.table_path))


def _table_rows(lh: Any, name: str) -> int:
    """Rows of a Delta table under the lakehouse's tables folder (0 when it does not exist)."""
    return _delta_rows(Path(lh.tables_dir) / name)


def _delta_rows(path: Path) -> int:
    if not (path / "_delta_log").exists():
        return 0
    from ..storage.delta import dataset
    return dataset(path).count_rows()


def run_demo(lh: Any, settings: DemoSettings | None = None,
             notebooks: str | Path | None = None, console: Console | None = None) -> DemoReport:
    """Run the fraud system end to end on ``lh``; returns what happened."""
    return Demo(lh, settings, notebooks, console).run()
