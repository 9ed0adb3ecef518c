"""The structure the code keeps (issue 15), checked on the source itself.

Import directions are import-linter's job (``[tool.importlinter]`` in pyproject.toml, run by
``tests/test_import_contracts.py``); what it cannot see is checked here with the AST: where SQL
runs, and how Delta tables are read.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kernel_magics"


def modules() -> dict[str, ast.Module]:
    return {str(p.relative_to(PACKAGE)): ast.parse(p.read_text(), str(p))
            for p in sorted(PACKAGE.rglob("*.py"))}


def calls_of(tree: ast.AST, attribute: str) -> list[int]:
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == attribute]


def test_delta_tables_become_datasets_in_storage_only():
    """One function opens a Delta table as a pyarrow dataset, with a native filesystem (a
    default one can abort the process at exit, exit 134); ``to_pandas()`` /
    ``to_pyarrow_table()`` on a DeltaTable would take the default path too."""
    found = {name: lines for name, tree in modules().items()
             if name != "storage/delta.py"
             for lines in [calls_of(tree, "to_pyarrow_dataset") + calls_of(tree, "to_pyarrow_table")]
             if lines}
    assert not found, f"read Delta tables through kernel_magics.storage.delta: {found}"


def test_storage_reads_through_a_native_filesystem(tmp_path):
    import pyarrow as pa
    import pyarrow.fs as pafs
    from deltalake import DeltaTable, write_deltalake

    from kernel_magics.storage import delta

    write_deltalake(str(tmp_path / "t"), pa.table({"a": [1, 2]}))
    write_deltalake(str(tmp_path / "t"), pa.table({"a": [3]}), mode="append")
    ds = delta.dataset(tmp_path / "t")
    assert isinstance(ds.filesystem, pafs.SubTreeFileSystem)
    assert isinstance(ds.filesystem.base_fs, pafs.LocalFileSystem)
    assert ds.to_table().num_rows == 3
    assert delta.dataset(tmp_path / "t", version=0).count_rows() == 2
    assert delta.as_dataset(DeltaTable(str(tmp_path / "t"), version=0)).count_rows() == 2
    assert delta.open_table(tmp_path / "missing") is None
