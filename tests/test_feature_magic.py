"""``%%feature`` in a real IPython shell."""
from __future__ import annotations

import pytest
from IPython.core.error import UsageError

import kernel_magics

CELL = """
import pandas as pd
n = {n}
df = pd.DataFrame({{"cc": range(n), "amount": [1.5] * n,
                    "ts": pd.Timestamp("2024-01-01", tz="UTC")}})
df
"""


def test_feature_cell_creates_group_inserts_and_summarises(ipython_shell, home):
    shell = ipython_shell
    info = shell.run_cell_magic("feature", 'tx --key cc --event-time ts --check "amount > 0" '
                                "--description 'card totals'", CELL.format(n=50))
    assert info.rows == 50 and info.delta_version == 0 and "amount > 0" in info.checks_passed
    html = info._repr_html_()
    for text in ("Feature group tx v1", "50", "Delta version 0", "amount &gt; 0", "ms", "cc"):
        assert text in html
    # the cell ran in the user's namespace, as a plain cell would
    assert len(shell.user_ns["df"]) == 50
    lh = kernel_magics.connect(home)
    fg = lh.features.groups.get("tx")
    assert fg.description == "card totals" and fg.checks == ["amount > 0"]
    lineage = fg.commits()[0]["lineage"]
    assert lineage["step"] == "tx" and len(lineage["code_hash"]) == 16
    # run again: same group, a new commit
    again = shell.run_cell_magic("feature", 'tx --key cc --event-time ts --check "amount > 0"',
                                 CELL.format(n=50))
    assert again.delta_version == 1 and len(fg.read()) == 100


def test_feature_cell_df_option_upsert_online_and_version(ipython_shell, home):
    shell = ipython_shell
    code = CELL.format(n=5) + "\nother = df.assign(amount=9.0)\nNone"
    info = shell.run_cell_magic("feature", "tx --key cc --event-time ts --df other --online "
                                "--mode upsert", code)
    assert info.mode == "upsert" and info.online_rows is not None
    lh = kernel_magics.connect(home)
    assert lh.features.groups.get("tx").read()["amount"].tolist() == [9.0] * 5
    assert lh.online_store.get("tx_v1", ["cc"], [(3,)])[0]["amount"] == 9.0
    v2 = shell.run_cell_magic("feature", "tx --key cc --event-time ts --version 2",
                              CELL.format(n=3))
    assert v2.version == 2 and len(lh.features.groups.get("tx", version=2).read()) == 3


def test_feature_cell_utc_and_evolve(ipython_shell, home):
    shell = ipython_shell
    naive = CELL.format(n=3).replace(', tz="UTC"', "")
    with pytest.raises(UsageError, match="naive timestamps.*--utc"):
        shell.run_cell_magic("feature", "tx --key cc --event-time ts", naive)
    assert shell.run_cell_magic("feature", "tx --key cc --event-time ts --utc", naive).rows == 3
    evolved = CELL.format(n=3) + "\ndf.assign(extra=1.0)"
    with pytest.raises(UsageError, match="extra: extra"):
        shell.run_cell_magic("feature", "tx --key cc --event-time ts", evolved)
    info = shell.run_cell_magic("feature", "tx --key cc --event-time ts --evolve", evolved)
    assert info.added_columns == ["extra"]


@pytest.mark.parametrize("line, code, message", [
    ("tx --key cc --event-time ts", "x = 1", "no DataFrame"),
    ("tx --key cc --event-time ts --df nope", CELL.format(n=2), "no variable 'nope'"),
    ("tx-1 --key cc --event-time ts", CELL.format(n=2), "not a valid feature group name"),
    ("tx --key cc --event-time ts --check 'amount >'", CELL.format(n=2), "not valid SQL"),
    ("tx --key cc --event-time ts --check 'amount < 0'", CELL.format(n=2), "check"),
    ("tx --key missing --event-time ts", CELL.format(n=2), "'missing'.*not in the data"),
    ("tx --key cc --event-time ts", "[1, 2]", "pandas DataFrame or a pyarrow Table"),
])
def test_feature_cell_bad_input_is_a_usage_error(ipython_shell, home, line, code, message):
    with pytest.raises(UsageError, match=message):
        ipython_shell.run_cell_magic("feature", line, code)
    lh = kernel_magics.connect(home)
    assert lh.catalog.scalar("SELECT COUNT(*) FROM feature_group_commits") == 0


def test_feature_cell_refuses_other_keys_for_an_existing_group(ipython_shell):
    ipython_shell.run_cell_magic("feature", "tx --key cc --event-time ts", CELL.format(n=2))
    with pytest.raises(UsageError, match="--version 2"):
        ipython_shell.run_cell_magic("feature", "tx --key amount --event-time ts",
                                     CELL.format(n=2))


def test_feature_cell_user_error_keeps_its_traceback(ipython_shell):
    """An exception in the user's own code is theirs, not a UsageError."""
    with pytest.raises(ZeroDivisionError):
        ipython_shell.run_cell_magic("feature", "tx --key cc --event-time ts", "1 / 0")


def test_feature_magic_help_and_missing_arguments(ipython_shell, capsys):
    shell = ipython_shell
    shell.run_cell("%%feature?")
    shown = capsys.readouterr().out
    for text in ("--key", "--event-time", "--mode", "--check", "--online", "--df", "--utc"):
        assert text in shown
    result = shell.run_cell("%%feature tx --event-time ts\ndf")
    assert isinstance(result.error_in_exec, UsageError)


def test_feature_cell_records_cell_id_and_notebook(ipython_shell, home):
    shell = ipython_shell
    shell.user_ns["lakebook_notebook"] = "notebooks/fraud.ipynb"
    shell.user_ns["lakebook_run_id"] = "run-42"
    try:
        result = shell.run_cell("%%feature tx --key cc --event-time ts\n" + CELL.format(n=4),
                                cell_id="cell-abc")
    finally:
        del shell.user_ns["lakebook_notebook"], shell.user_ns["lakebook_run_id"]
    assert result.success, result.error_in_exec
    lineage = kernel_magics.connect(home).features.groups.get("tx").commits()[0]["lineage"]
    assert (lineage["cell_id"], lineage["notebook"], lineage["run_id"]) == (
        "cell-abc", "notebooks/fraud.ipynb", "run-42")
