"""The one place user-written SQL runs (feature-group checks; later KPIs).

Users' SQL is trusted to mean what they wrote about *their data*, not to reach anything else:
it runs on an in-memory DuckDB connection that cannot read or write files, attach databases,
install or load extensions from disk, or reach the network, and whose configuration the SQL
cannot change (``lock_configuration``). Register the data the SQL may see as Arrow tables.
"""
from __future__ import annotations

import duckdb

SANDBOX_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,  # last: nothing the SQL runs can undo the lines above
}


def sandboxed_connection(**settings: str) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection for user SQL (see the module docstring);
    ``settings`` (e.g. ``TimeZone="UTC"``) are set before the configuration is locked."""
    if not settings:
        return duckdb.connect(config=dict(SANDBOX_CONFIG))
    # settings such as TimeZone need built-in extensions loaded first, so they are set on the
    # open connection, and only then is the configuration locked
    con = duckdb.connect(config={k: v for k, v in SANDBOX_CONFIG.items()
                                 if k != "lock_configuration"})
    for key, value in settings.items():  # keys and values come from Lakebook's code
        con.execute(f"SET {key} = '{value}'")
    con.execute("SET lock_configuration = true")
    return con
