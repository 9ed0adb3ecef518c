"""The Python environment of a process: Python version, platform, installed distributions and
the distributions this process imported; and the installed distributions of a kernel's
interpreter, read without starting the kernel (what a step's fingerprint compares).

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
    found = installed_on(sys.path)
    _memo.update(installed_key=key, installed=found)
    return found


def installed_on(paths: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``{distribution: version}`` of the distributions on an interpreter's ``paths`` (its
    ``sys.path``), from the ``*.dist-info`` folder names (the first one found wins)."""
    found: dict[str, str] = {}
    for entry in paths:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in names:
            m = _DIST_INFO.match(folder)
            if m:
                found.setdefault(canonical(m["name"]), m["version"])
    return found


# -- the environment of a kernel, seen from outside it -------------------------------------
#: what decides an interpreter's sys.path besides its executable
_PATH_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE", "PYTHONUSERBASE", "PYTHONSAFEPATH",
             "HOME", "VIRTUAL_ENV")
_PROBE = "import json, sys; print(json.dumps(sys.path))"


def kernel_interpreter(kernel: str) -> tuple[str, dict[str, str]]:
    """The Python executable kernel ``kernel`` starts and the environment variables its
    kernelspec sets; NotFound when no such kernel is installed (or it is no Python).

    ``python`` (and ``python3``, ``python3.X``) in a kernelspec's ``argv`` mean the
    interpreter launching the kernel, as jupyter_client reads them."""
    import shutil
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    from ..shared.errors import NotFound
    try:
        spec = KernelSpecManager().get_kernel_spec(kernel)
    except NoSuchKernel:
        raise NotFound(f"The kernel {kernel!r} is not installed.",
                       "Install it (`python -m ipykernel install --user --name NAME`) or run "
                       "with another kernel.") from None
    argv = list(spec.argv or [])
    if not argv or (spec.language or "python").lower() != "python":
        raise NotFound(f"The kernel {kernel!r} is not a Python kernel: it has no Python "
                       "distributions to fingerprint.")
    exe = argv[0]
    if exe in {"python", f"python{sys.version_info[0]}",
               f"python{sys.version_info[0]}.{sys.version_info[1]}"}:
        exe = sys.executable
    exe = shutil.which(exe) or exe
    # not the symlink's target: a virtual environment's python is found by its own path
    return os.path.abspath(exe), {str(k): str(v) for k, v in (spec.env or {}).items()}


def kernel_sys_path(kernel: str) -> list[str]:
    """``sys.path`` of kernel ``kernel``'s interpreter. Asked once of the interpreter itself
    (``python -c``, a few tens of milliseconds, no kernel) and cached, in memory and on disk,
    by the executable, its modification time and the variables that move ``sys.path``."""
    import subprocess
    from ..shared.errors import NotFound
    exe, spec_env = kernel_interpreter(kernel)
    env = {**os.environ, **spec_env}
    try:
        mtime = os.stat(exe).st_mtime_ns
    except OSError:
        raise NotFound(f"The Python of kernel {kernel!r} ({exe}) does not exist.",
                       "Reinstall the kernel or run with another one.") from None
    key_text = json.dumps([exe, mtime, sorted((k, env.get(k)) for k in _PATH_ENV),
                           sorted(spec_env.items())])
    key = hashlib.sha256(key_text.encode()).hexdigest()[:20]
    memo = _memo.setdefault("kernel_paths", {})
    if key in memo:
        return memo[key]

    def probe() -> list[str]:
        try:
            out = subprocess.run([exe, "-c", _PROBE], env=env, capture_output=True, text=True,
                                 timeout=60, check=True)
            return json.loads(out.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            raise NotFound(f"The Python of kernel {kernel!r} ({exe}) did not say where its "
                           "packages are.", "Check that it starts: "
                           f"`{exe} -c 'import sys; print(sys.path)'`.") from None

    paths = _disk_cached(f"kernel-path-{key}.json", list, probe)
    memo[key] = paths
    return paths


def kernel_versions(kernel: str, names: list[str] | dict[str, Any]) -> dict[str, str | None]:
    """The version of each distribution installed where kernel ``kernel`` runs (None: not
    installed there any more), read from outside the kernel (none is started)."""
    packages = installed_on(kernel_sys_path(kernel))
    return {n: packages.get(canonical(n)) for n in names}


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
    def compute() -> dict[str, list[str]]:
        from importlib.metadata import packages_distributions
        return {top: sorted({canonical(d) for d in dists})
                for top, dists in packages_distributions().items()}

    mapping = _disk_cached(f"modules-{digest}.json", dict, compute)
    _memo.update(modules_key=digest, modules=mapping)
    return mapping


def _disk_cached(name: str, kind: type, compute: Any) -> Any:
    """The JSON value cached in ``~/.cache/lakebook/<name>`` (of type ``kind``), else
    ``compute()``'s, written there atomically for the next process."""
    path = _cache_dir() / name
    try:
        value = json.loads(path.read_text())
        if isinstance(value, kind):
            return value
    except (OSError, ValueError):
        pass
    value = compute()
    try:  # a read-only home directory only costs the next process the computation
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(value))
        os.replace(tmp, path)
    except OSError:
        pass
    return value


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
