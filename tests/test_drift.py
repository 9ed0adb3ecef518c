"""Drift computation: real Evidently runs on made data, and the summarised path's agreement
with the full computation."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from kernel_magics.shared.errors import InvalidInput
from kernel_magics.monitoring import sampling, windows
from kernel_magics.monitoring.drift import NothingToCompare, detect_drift


def frame(n: int, shift: float = 0.0, seed: int = 0, mix=(0.3, 0.3, 0.4)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "amount": rng.lognormal(3 + shift, 1.0, n),
        "age": rng.normal(40 + 8 * shift, 10, n),
        "hour": rng.integers(0, 24, n),
        "channel": rng.choice(["online", "shop", "atm"], n, p=list(mix)),
        "abroad": rng.random(n) < (0.05 + 0.2 * shift),
        "level": rng.integers(0, 4, n),            # low cardinality numeric
        "score": rng.normal(0, 1, n),              # never shifts
    })


def test_shifted_distribution_drifts_and_the_same_does_not(tmp_path):
    ref = frame(3000, seed=1)
    same = detect_drift(ref, frame(3000, seed=2), drift_share=0.5)
    assert same.dataset_drift is False
    assert same.drifted_columns == []
    assert set(same.columns) == set(ref.columns)
    shifted = detect_drift(ref, frame(3000, shift=1.0, seed=3, mix=(0.7, 0.2, 0.1)),
                           drift_share=0.5)
    assert shifted.dataset_drift is True
    assert {"amount", "age", "channel", "abroad"} <= set(shifted.drifted_columns)
    assert "score" not in shifted.drifted_columns
    assert shifted.drift_share == pytest.approx(len(shifted.drifted_columns) / 7)
    col = shifted.columns["amount"]
    assert col["method"] == "Wasserstein distance (normed)" and col["score"] > col["threshold"]
    assert shifted.columns["channel"]["method"] == "Jensen-Shannon distance"
    # the full report lands on disk, as Evidently's own JSON and HTML
    json_path, html_path = shifted.save(tmp_path, "r1")
    assert json_path.stat().st_size > 100 and "<html" in html_path.read_text()[:2000].lower()


def test_small_reference_uses_p_value_tests():
    result = detect_drift(frame(400, seed=1), frame(400, shift=1.0, seed=2))
    assert result.columns["age"]["method"] == "K-S p_value"
    assert result.columns["age"]["drifted"] and result.columns["age"]["score"] < 0.05
    assert not result.columns["score"]["drifted"]


def test_summarised_verdicts_match_the_full_computation():
    """The summary path (forced on at 40k rows) gives Evidently's full per-column verdict,
    test method and nearly the same score."""
    ref = frame(40_000, seed=4)
    cur = frame(40_000, shift=0.4, seed=5, mix=(0.45, 0.25, 0.3))
    full = detect_drift(ref, cur, summary_rows=10 ** 9)
    fast = detect_drift(ref, cur, summary_rows=10_000, summary_size=5_000)
    assert full.sampling["method"] == "full"
    assert fast.sampling["method"] == "quantile-summary"
    assert fast.verdicts() == full.verdicts()
    assert any(full.verdicts().values()) and not all(full.verdicts().values())
    for name, col in full.columns.items():
        assert fast.columns[name]["method"] == col["method"], name
        assert fast.columns[name]["score"] == pytest.approx(col["score"], abs=0.01), name
    assert fast.dataset_drift == full.dataset_drift


def test_summary_keeps_exact_category_shares():
    rows = [("a", 500_001), ("b", 299_999), ("c", 200_000)]
    out = sampling._expand(rows, 1000, "categorical")
    assert len(out) == 1000
    assert (out == "a").sum() == 500 and (out == "b").sum() == 300 and (out == "c").sum() == 200


def test_untestable_types_are_skipped_with_a_reason():
    ref = frame(500, seed=1).assign(ts=pd.Timestamp("2024-01-01", tz="UTC"),
                                    tags=[[1, 2]] * 500)
    cur = frame(500, seed=2).assign(ts=pd.Timestamp("2024-02-01", tz="UTC"),
                                    tags=[[3]] * 500)
    result = detect_drift(ref, cur)
    assert "timestamp" in result.skipped["ts"] and "cannot be tested" in result.skipped["ts"]
    assert "tags" in result.skipped
    assert "ts" not in result.columns


def test_empty_sides_and_nothing_testable_are_reported_not_crashed():
    ref = frame(100)
    with pytest.raises(NothingToCompare, match="current window has no rows"):
        detect_drift(ref, ref.iloc[:0])
    with pytest.raises(NothingToCompare, match="reference has no rows"):
        detect_drift(ref.iloc[:0], ref)
    only_time = pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=5, tz="UTC")})
    with pytest.raises(NothingToCompare, match="No column can be tested"):
        detect_drift(only_time, only_time)
    nulls = pd.DataFrame({"x": [None] * 5}, dtype="float64")
    with pytest.raises(NothingToCompare, match="all null"):
        detect_drift(nulls, pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
    with pytest.raises(InvalidInput, match="'nope' is not in the reference and current"):
        detect_drift(ref, ref, columns=["nope"])


def test_arrow_input_and_infinities():
    ref = pa.table({"x": np.r_[np.random.default_rng(0).normal(size=2000), [np.inf, np.nan]]})
    result = detect_drift(ref, ref)
    assert result.columns["x"]["reference_values"] == 2000
    assert not result.dataset_drift


def test_window_specs():
    now = datetime(2024, 5, 10, tzinfo=timezone.utc)
    assert windows.validate("Last 1d", "current") == "last 1d"
    cur = windows.resolve("last 1d", now)
    assert cur.start == datetime(2024, 5, 9, tzinfo=timezone.utc) and cur.end == now
    ref = windows.resolve(windows.validate("previous 7d", "reference"), now, cur)
    assert ref.end == cur.start and ref.start == datetime(2024, 5, 2, tzinfo=timezone.utc)
    explicit = windows.validate("2024-01-01/2024-02-01", "reference")
    assert windows.resolve(explicit, now).start == datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert windows.validate(("2024-01-01", None), "reference") == {
        "start": "2024-01-01T00:00:00+00:00", "end": None}
    for bad, role in [("yesterday", "current"), ("previous 1d", "current"),
                      ("training", "current"), ("last -1d", "current"),
                      ({"start": "2024-02-01", "end": "2024-01-01"}, "reference"),
                      ({"begin": "2024-01-01"}, "reference")]:
        with pytest.raises(InvalidInput):
            windows.validate(bad, role)
