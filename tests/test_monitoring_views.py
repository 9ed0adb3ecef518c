"""``%lakebook monitor`` in a real IPython shell, the widget's chart, and the CLI."""
from __future__ import annotations

from datetime import timedelta

import pytest
from IPython.core.error import UsageError

from kernel_magics.doors.cli import main as cli_main
from kernel_magics.doors.widgets.monitor import monitor_html
from kernel_magics.render.monitoring import drift_chart, drift_ratio
from test_monitoring import T0, day_rows


@pytest.fixture
def monitored(lh):
    fg = lh.create_feature_group("transactions", key="card", event_time="ts")
    for day in range(4):
        fg.insert(day_rows(day, n=300))
    fg.insert(day_rows(4, n=300, shift=1.0))
    return lh


def test_magic_create_run_and_view(monitored, ipython_shell, displayed):
    shell = ipython_shell
    shell.run_line_magic("lakebook", "monitor create tx --feature-group transactions "
                                     "--reference 'previous 2d' --schedule none --drift-share 0.4")
    assert "monitor tx" in displayed[-1]["text/html"]
    for day in (3, 4, 5):
        shell.run_line_magic("lakebook", f"monitor run tx --now {(T0 + timedelta(days=day)).isoformat()}")
    view = shell.run_line_magic("lakebook", "monitor tx")
    html = view.children[0].value
    assert "<svg" in html and "<path" in html and "threshold" in html   # the chart, not numbers
    assert "drift" in html and "open the Evidently report" in html
    assert "lakebook/api/monitors/tx/reports/" in html
    assert "data:text/html" not in html and len(html) < 100_000          # report not inlined
    shell.run_line_magic("lakebook", "monitor")
    assert "tx" in displayed[-1]["text/html"] and "drift" in displayed[-1]["text/html"]
    alert = monitored.monitoring.alerts.list("tx")[0]
    shell.run_line_magic("lakebook", f"monitor ack {alert['id']}")
    assert monitored.monitoring.alerts.list(acknowledged=False) == []
    with pytest.raises(UsageError, match="no monitor 'nope'"):
        shell.run_line_magic("lakebook", "monitor nope")
    with pytest.raises(UsageError, match="monitor"):
        shell.run_line_magic("lakebook", "monitor create only-a-name --bogus 1")


def test_chart_scales_every_test_to_its_threshold(monitored):
    assert drift_ratio({"method": "Wasserstein distance (normed)", "score": 0.2,
                        "threshold": 0.1}) == pytest.approx(2)
    assert drift_ratio({"method": "K-S p_value", "score": 0.05, "threshold": 0.05}) == \
        pytest.approx(1)
    assert drift_ratio({"method": "K-S p_value", "score": 0.5, "threshold": 0.05}) < 1
    monitored.create_monitor("tx", feature_group="transactions", reference="previous 2d", schedule=None)
    results = [monitored.monitoring.run("tx", now=T0 + timedelta(days=d)) for d in (3, 5)]
    svg = drift_chart([r.to_dict() for r in monitored.monitoring.results.list("tx")])
    assert svg.count("<path") == len(results[-1].columns)
    assert "amount" in svg
    assert "No results" in drift_chart([])
    assert "never run" in monitor_html(monitored, "tx") or "verdict" in monitor_html(monitored, "tx")


def test_cli_monitor_list_run_alerts(monitored, home, capsys):
    monitored.create_monitor("tx", feature_group="transactions", reference="previous 2d",
                      schedule=None)
    assert cli_main(["--home", str(home), "monitor", "run", "tx", "--now",
                     (T0 + timedelta(days=5)).isoformat()]) == 0
    out = capsys.readouterr().out
    assert "drift" in out and "drifted: amount" in out
    assert cli_main(["--home", str(home), "monitor", "list"]) == 0
    assert "tx" in capsys.readouterr().out
    assert cli_main(["--home", str(home), "monitor", "alerts", "--open"]) == 0
    assert "columns drifted" in capsys.readouterr().out
    assert cli_main(["--home", str(home), "monitor", "run", "nope"]) == 1
