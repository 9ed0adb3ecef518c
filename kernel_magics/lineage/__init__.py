"""Lineage: every read and write through the API, recorded against the run, notebook, cell
and step doing it; the graph built from it (``lh.lineage(obj)``); the Python environments of
runs and model versions; and OpenLineage run events."""
