"""The sidebar's magic builder reads the magic grammar Python parses with (item 9 of issue 15):
``extension/src/magic-grammar.json`` is ``shared.magic_grammar.export()``, kept current here."""
from __future__ import annotations

from pathlib import Path

from kernel_magics.shared import magic_grammar

ROOT = Path(__file__).resolve().parents[1]


def test_the_sidebar_grammar_is_the_python_grammar():
    committed = (ROOT.joinpath(*magic_grammar.EXPORT_PATH)).read_text()
    assert committed == magic_grammar.export_json(), (
        "extension/src/magic-grammar.json is stale: run "
        "`python -m kernel_magics.shared.magic_grammar` in the repository and commit it")


def test_the_export_holds_what_the_builder_writes():
    kinds = magic_grammar.export()["kinds"]
    flags = {kind: {o["dest"]: o for o in kinds[kind]["options"]} for kind in magic_grammar.STEP_KINDS}
    assert flags["feature"]["key"]["repeatable"] and flags["feature"]["online"]["type"] == "flag"
    for kind, dests in {"feature": ["key", "event_time", "online"],
                        "training": ["view", "label", "alias"],
                        "inference": ["model", "alias", "view"]}.items():
        assert set(dests) <= set(flags[kind]), kind
