"""lakebook.toml: every setting declared and typed; a key or section Lakebook does not know is
an error naming it; backends and executors come from their registries."""
from __future__ import annotations

import pytest

import kernel_magics
from kernel_magics.config import SETTINGS, Config, describe_settings
from kernel_magics.shared.errors import InvalidInput
from kernel_magics.shared.plugins import Registry


def write(home, text):
    home.mkdir(parents=True, exist_ok=True)
    (home / "lakebook.toml").write_text(text)


def test_settings_are_read_typed(tmp_path):
    home = tmp_path / "lh"
    write(home, '[scheduler]\nexecutor = "local"\nconcurrency = 3\nlease_seconds = 12\n'
                "poll_seconds = 0.5\n[serve]\nrefresh_ms = 100\n[server]\n"
                "max_request_bytes = 5000\n")
    cfg = kernel_magics.connect(home).config
    assert (cfg.executor_concurrency, cfg.lease_s, cfg.scheduler_poll_s) == (3, 12.0, 0.5)
    assert cfg.heartbeat_seconds == 1.0 and cfg.serve_refresh_ms == 100.0
    assert cfg.max_request_bytes == 5000 and cfg.source == [home / "lakebook.toml"]


@pytest.mark.parametrize("text, words", [
    ("[scheduler]\nlease_second = 3\n", ["[scheduler]", "'lease_second'", "lease_seconds"]),
    ("[onlne]\nbackend = 'redis'\n", ["[onlne]", "[online]"]),
    ("[server]\nmax_request_bytes = 'big'\n", ["[server] max_request_bytes", "whole number"]),
    ("[scheduler]\nconcurrency = true\n", ["concurrency", "whole number"]),
    ("[online]\nbackend = 'memcached'\n", ["'memcached'", 'backend = "sqlite"', "[online]"]),
    ("[scheduler]\nexecutor = 'ray'\n", ["'ray'", 'executor = "dask"', "[scheduler]"]),
])
def test_a_setting_lakebook_does_not_know_is_an_error_naming_it(tmp_path, text, words):
    home = tmp_path / "lh"
    write(home, text)
    with pytest.raises(InvalidInput) as err:
        kernel_magics.connect(home)
    for word in words:
        assert word in str(err.value)


def test_every_setting_is_documented_with_its_default():
    attrs = set(Config.__dataclass_fields__)
    assert all(s.attr in attrs and s.doc for s in SETTINGS)
    text = describe_settings()
    assert "[scheduler] lease_seconds = 30.0" in text and "[online] backend = 'sqlite'" in text


def test_a_registry_imports_what_is_chosen_only():
    reg: Registry = Registry("thing", "things", "kind")
    reg.register("json", "json:dumps")
    reg.register("missing", "no_such_module_here:x")
    assert reg.get("json")([1]) == "[1]"
    assert reg.names() == ["json", "missing"]
    with pytest.raises(InvalidInput, match='kind = "json" or kind = "missing" under'):
        reg.get("yaml")
