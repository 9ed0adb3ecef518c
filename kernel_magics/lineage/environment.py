"""The Python environment of a process: Python version, platform, installed distributions and
the distributions this process imported.

Cheap by design (a step's fingerprint and every run record it): installed distributions come
from the ``*.dist-info`` folder names on ``sys.path`` (well under a millisecond, no METADATA
parse); the map from top-level module to distribution (``packages_distributions()``, 0.2-0.5 s)
is computed once per environment and cached on disk, keyed by the hash of those names.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import sys
from pathlib import Path
from typing import Any

#: the distributions a model's flavour needs at load time, by flavour: a serving environment
#: that differs from the model's in one of them is warned about
FLAVOUR_PACKAGES = {"sklearn": ("scikit-learn", "numpy", "scipy", "skops")}
_DIST_INFO = re.compile(r"^(?P<name>.+?)-(?P<version>[^-]+?)\.(dist-info|egg-info)$")
_memo: dict[str, Any] = {}


def canonical(name: str) -> str:
    """A distribution name as PEP 503 normalises it (``scikit_learn`` -> ``scikit-learn``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed() -> dict[str, str]:
    """``{distribution: version}`` of every distribution importable from ``sys.path`` (the
    first one found wins, as for imports)."""
    key = tuple(sys.path)
    if _memo.get("installed_key") == key:
        return _memo["installed"]
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in names:
            m = _DIST_INFO.match(folder)
            if m:
                found.setdefault(canonical(m["name"]), m["version"])
    _memo.update(installed_key=key, installed=found)
    return found


def environment_hash(packages: dict[str, str]) -> str:
    text = json.dumps([sys.version.split()[0], platform.platform(), sorted(packages.items())])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lakebook"


def module_distributions() -> dict[str, list[str]]:
    """``{top-level module: [distribution, ...]}`` for this environment (cached on disk)."""
    packages = installed()
    digest = environment_hash(packages)
    if _memo.get("modules_key") == digest:
        return _memo["modules"]
    path = _cache_dir() / f"modules-{digest}.json"
    mapping: dict[str, list[str]] | None = None
    try:
        mapping = json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    if not isinstance(mapping, dict):
        from importlib.metadata import packages_distributions
        mapping = {top: sorted({canonical(d) for d in dists})
                   for top, dists in packages_distributions().items()}
        try:  # a read-only home directory only costs the next process the computation
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(mapping))
            os.replace(tmp, path)
        except OSError:
            pass
    _memo.update(modules_key=digest, modules=mapping)
    return mapping


def imported() -> dict[str, str]:
    """``{distribution: version}`` of the distributions this process has imported from."""
    packages = installed()
    mapping = module_distributions()
    tops = {m.partition(".")[0] for m in list(sys.modules)}
    out: dict[str, str] = {}
    for top in tops:
        for dist in mapping.get(top, ()):
            if dist in packages:
                out[dist] = packages[dist]
    return dict(sorted(out.items()))


def capture() -> dict[str, Any]:
    """This process's environment: ``{"python", "platform", "packages", "hash"}``."""
    packages = installed()
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "packages": dict(sorted(packages.items())), "hash": environment_hash(packages)}


def current_versions(names: list[str] | dict[str, Any]) -> dict[str, str | None]:
    """The installed version of each distribution (None: not installed any more)."""
    packages = installed()
    return {n: packages.get(canonical(n)) for n in names}


def mismatches(recorded: dict[str, str], flavour: str) -> dict[str, tuple[str, str | None]]:
    """``{package: (recorded version, installed version)}`` for the packages ``flavour``
    needs whose version here differs from the one recorded."""
    here = installed()
    out = {}
    for package in FLAVOUR_PACKAGES.get(flavour, ()):
        then = recorded.get(package)
        now = here.get(package)
        if then is not None and then != now:
            out[package] = (then, now)
    return out


def requirements_text(packages: dict[str, str]) -> str:
    """A ``requirements.txt`` pinning ``packages`` (sorted by name)."""
    return "".join(f"{name}=={version}\n" for name, version in sorted(packages.items()))
