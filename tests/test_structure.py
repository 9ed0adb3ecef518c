"""The structure the code keeps (issue 15), checked on the source itself.

Import directions are import-linter's job (``[tool.importlinter]`` in pyproject.toml, run by
``tests/test_import_contracts.py``); what it cannot see is checked here with the AST: where SQL
runs, and how Delta tables are read.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kernel_magics"


def modules() -> dict[str, ast.Module]:
    return {str(p.relative_to(PACKAGE)): ast.parse(p.read_text(), str(p))
            for p in sorted(PACKAGE.rglob("*.py"))}


def calls_of(tree: ast.AST, attribute: str) -> list[int]:
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == attribute]


#: which area owns which catalog table (the catalog itself keeps its audit log and meta);
#: every area is listed, also one without tables (similarity keeps its indexes as files)
OWNERS = {
    "features": {"feature_groups", "feature_group_commits", "feature_views", "online_pending"},
    "registry": {"models", "model_versions", "model_aliases", "model_alias_history"},
    "deployments": {"deployments", "deployment_stats"},
    "pipelines": {"pipelines", "schedules", "runs", "step_runs"},
    "monitoring": {"monitors", "monitor_results", "alerts"},
    "business": {"business_kpis"},
    "lineage": {"lineage_events", "lineage_environments", "lineage_environment_uses"},
    "similarity": set(),
    "catalog": {"events", "meta", "lakebook_schema_version"},
}
TABLE_OF = {table: area for area, tables in OWNERS.items() for table in tables}
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|REPLACE)\b")
TABLE_REF = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+(\w+)", re.I)
#: the Catalog methods that run SQL
SQL_METHODS = {"execute", "query", "query_one", "scalar", "exists", "transaction"}


def string_texts(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):
            yield node.lineno, "".join(v.value for v in node.values
                                       if isinstance(v, ast.Constant))


def owner_of(module: str) -> str | None:
    """The area whose table module ``module`` is (``<area>/records.py``, or the catalog)."""
    parts = module.split("/")
    if parts[-1] == "records.py" and len(parts) == 2:
        return parts[0]
    if parts[0] == "catalog":
        return "catalog"
    return None


def sql_out_of_place(trees: dict[str, ast.Module]) -> list[str]:
    """Each SQL text that names a table of an area other than the module's own."""
    misplaced = []
    for module, tree in trees.items():
        if module == "catalog/migrations.py":
            continue
        owner = owner_of(module)
        for line, text in string_texts(tree):
            if not SQL.search(text):
                continue
            for table in TABLE_REF.findall(text):
                area = TABLE_OF.get(table)
                if area is not None and area != owner:
                    misplaced.append(f"{module}:{line} runs SQL on {table} ({area}'s table)")
    return misplaced


def catalog_calls_out_of_place(trees: dict[str, ast.Module]) -> list[str]:
    """Each ``<x>.catalog.execute/query/...`` call outside a table module."""
    return [f"{module}:{node.lineno}" for module, tree in trees.items()
            if owner_of(module) is None
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_METHODS
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "catalog"]


def created_tables() -> set[str]:
    """Every table the catalog's migrations create (SQL text or ``op.create_table``)."""
    from kernel_magics.catalog.migrations import MIGRATIONS
    tables = set()
    for node in ast.walk(ast.parse((PACKAGE / "catalog" / "migrations.py").read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "create_table" and node.args \
                and isinstance(node.args[0], ast.Constant):
            tables.add(node.args[0].value)
    for _, _, step in MIGRATIONS:
        if isinstance(step, str):
            tables |= set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", step, re.I))
    return tables


def test_every_area_and_every_table_has_one_owner():
    """A new area (an ``<area>/api.py``) or a new table is named in OWNERS, so the SQL scans
    below cover it: the lineage, business and similarity areas included."""
    areas = {p.parent.name for p in PACKAGE.glob("*/api.py")}
    assert areas - set(OWNERS) == set(), "add these areas to OWNERS"
    assert {"lineage", "business", "similarity"} <= areas
    owned = [t for tables in OWNERS.values() for t in tables]
    assert len(owned) == len(set(owned)), "a table has two owners"
    migrated = created_tables()
    assert {"lineage_events", "step_runs", "business_kpis"} <= migrated
    assert migrated - set(owned) == set(), "add these tables to their area in OWNERS"


def test_every_catalog_table_is_touched_only_by_its_areas_records_module():
    """An area's tables are read and written only in ``<area>/records.py`` (the module a
    second catalog backend replaces); everything else calls that area's API."""
    misplaced = sql_out_of_place(modules())
    assert not misplaced, "\n".join(misplaced)


def test_only_records_modules_run_catalog_sql():
    """``catalog.execute/query/...`` is called in the table modules only."""
    found = catalog_calls_out_of_place(modules())
    assert not found, f"call the area's records module instead: {found}"


def test_the_checks_fail_on_sql_where_it_does_not_belong():
    """The scans themselves: monitoring reading pipelines' runs (the old alerts.py:85), in its
    records module and in its alerts, an area's service on its own table (only records.py
    may), and services calling the catalog directly."""
    bad = 'def last(lh):\n    return lh.catalog.query("SELECT * FROM runs WHERE id = ?", (1,))\n'
    own = 'def last(c):\n    return c.query("SELECT * FROM monitors WHERE name = ?", ("m",))\n'
    trees = {"monitoring/records.py": ast.parse(bad), "monitoring/alerts.py": ast.parse(bad),
             "pipelines/records.py": ast.parse(bad.replace("lh.catalog", "c")),
             "monitoring/api.py": ast.parse(own.replace("c.query", "lh.catalog.query"))}
    assert sql_out_of_place(trees) == [
        "monitoring/records.py:2 runs SQL on runs (pipelines's table)",
        "monitoring/alerts.py:2 runs SQL on runs (pipelines's table)",
        "monitoring/api.py:2 runs SQL on monitors (monitoring's table)"]  # even its own
    assert catalog_calls_out_of_place(trees) == ["monitoring/alerts.py:2", "monitoring/api.py:2"]


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


def test_the_readme_table_names_every_folder_of_the_package():
    """README's "The repository" table matches the folders (issue 15)."""
    readme = (PACKAGE.parent / "README.md").read_text()
    section = readme[readme.index("## The repository"):].splitlines()[1:]
    table = "\n".join(line for line in section[:next(
        (i for i, line in enumerate(section) if line.startswith("#")), len(section))]
        if line.startswith("|"))
    folders = [p for p in PACKAGE.iterdir() if (p / "__init__.py").exists()] + \
              [p for p in (PACKAGE / "doors").iterdir() if (p / "__init__.py").exists()]
    missing = [f.name for f in folders if f"`{f.name}/`" not in table
               and f"`kernel_magics/{f.name}/`" not in table]
    assert not missing, f"add these folders to README's repository table: {missing}"
