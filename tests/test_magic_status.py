"""``%load_ext kernel_magics`` and ``%lakebook`` in a real IPython shell."""
from __future__ import annotations

import pytest
from IPython.core.error import UsageError


def test_lakebook_status_shows_rich_summary(ipython_shell, displayed, home) -> None:
    ipython_shell.run_line_magic("lakebook", "status")
    html = displayed[-1]["text/html"]
    assert str(home.resolve()) in html
    assert "feature groups" in html and "catalog version" in html


def test_unknown_subcommand_is_a_usage_error(ipython_shell) -> None:
    with pytest.raises(UsageError, match="Unknown %lakebook command 'frobnicate'"):
        ipython_shell.run_line_magic("lakebook", "frobnicate")


def test_bad_catalog_is_a_usage_error_without_traceback(ipython_shell, home) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "catalog.db").write_bytes(b"garbage" * 200)
    with pytest.raises(UsageError, match="cannot be read"):
        ipython_shell.run_line_magic("lakebook", "status")
