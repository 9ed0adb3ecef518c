"""A magic line is read once, the same way for every magic: shell-like quoting
(``--start "2024-05-02 00:00"`` is one value, without its quotes), in a real IPython shell and
in step discovery (nbformat, no kernel)."""
from __future__ import annotations

import nbformat
import pandas as pd
import pytest
from IPython.core.error import UsageError

import kernel_magics
from kernel_magics.shared import magic_grammar

from deployments_fixtures import fraud_lakehouse

TX = ("import pandas as pd\n"
      "pd.DataFrame({'cc': [1, 2, 3], 'amount': [5.0, 7.5, 11.0],\n"
      "              'ts': pd.to_datetime(['2024-05-01', '2024-05-02', '2024-05-03'], utc=True)})")


def test_feature_magic_quoted_check_and_description(ipython_shell, home):
    info = ipython_shell.run_cell_magic(
        "feature", "tx --key cc --event-time ts --check \"amount > 0\" "
                   "--check 'amount < 1000' --description \"Card transactions, daily\"", TX)
    assert info.rows == 3
    fg = kernel_magics.connect(home).features.groups.get("tx")
    assert fg.checks == ["amount > 0", "amount < 1000"]
    assert fg.description == "Card transactions, daily"


def test_feature_magic_quoted_check_that_fails_names_the_unquoted_predicate(ipython_shell):
    with pytest.raises(UsageError, match="amount > 6"):
        ipython_shell.run_cell_magic("feature", "tx --key cc --event-time ts "
                                                "--check \"amount > 6\"", TX)


def test_inference_magic_quoted_window(ipython_shell, home):
    lh = kernel_magics.connect(home)
    fraud_lakehouse(lh)
    result = ipython_shell.run_cell_magic(
        "inference", "b --model fraud --start \"2024-01-03 00:00\" --end '2024-01-04 00:00'",
        "# score\n")
    assert result.rows == 24


def test_training_magic_quoted_values(ipython_shell, home):
    lh = kernel_magics.connect(home)
    fraud_lakehouse(lh)
    result = ipython_shell.run_cell_magic(
        "training", "fraud --view \"tx_view\" --label 'is_fraud' --alias \"champion\"",
        "from sklearn.linear_model import LogisticRegression\n"
        "model = LogisticRegression(max_iter=500).fit(X_train, y_train)\n")
    assert result.model_version.version == 2 and result.alias == "champion"
    assert lh.registry.aliases("fraud")["champion"] == 2


def test_lakebook_line_magic_quoted_path(ipython_shell, tmp_path, displayed):
    folder = tmp_path / "my notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%%feature tx --key cc --event-time ts\ndf")]
    nbformat.write(nb, folder / "fti.ipynb")
    ipython_shell.run_line_magic("lakebook", f"steps \"{folder}\"")
    html = "".join(d.get("text/html", "") for d in displayed)
    assert "tx" in html and "fti.ipynb" in html


def test_unclosed_quote_is_a_usage_error_naming_the_line(ipython_shell):
    with pytest.raises(UsageError, match="No closing quotation"):
        ipython_shell.run_cell_magic("feature", "tx --key cc --event-time ts --check \"a > 0",
                                     TX)


def test_step_discovery_reads_quotes_as_the_magic_does(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "%%feature tx --key cc --event-time ts --check \"amount > 0\" "
            "--schedule \"0 6 * * *\" --tz 'Europe/Amsterdam'\ndf"),
        nbformat.v4.new_code_cell(
            "%%inference b --model m --start \"2024-05-02 00:00\" --end '2024-05-03 00:00'\n"),
    ]
    nbformat.write(nb, tmp_path / "fti.ipynb")
    from kernel_magics.pipelines.steps import notebook_steps
    feature, inference = notebook_steps(tmp_path / "fti.ipynb")
    assert feature.schedule == "0 6 * * *" and feature.args["tz"] == "Europe/Amsterdam"
    assert feature.args["check"] == ["amount > 0"]
    assert (inference.args["start"], inference.args["end"]) == ("2024-05-02 00:00",
                                                                "2024-05-03 00:00")
    # ... exactly what the magic's own parser makes of the same line
    line = nb.cells[1].source.splitlines()[0].split(" ", 1)[1]
    assert inference.args == vars(magic_grammar.parse("inference", line))
    assert pd.Timestamp(inference.args["start"])  # a time, not '"2024-05-02 00:00"'


def test_step_discovery_names_the_cell_of_a_bad_line(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%%training m --label y\nmodel = 1")]
    nbformat.write(nb, tmp_path / "bad.ipynb")
    from kernel_magics.shared.errors import InvalidInput
    from kernel_magics.pipelines.steps import notebook_steps
    with pytest.raises(InvalidInput, match=r"Cell 0 of bad.ipynb .* --view"):
        notebook_steps(tmp_path / "bad.ipynb")
