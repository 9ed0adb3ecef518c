"""The loader-side trust policy for model artifacts.

A registry must not run code from a file it loads. skops reads an artifact's schema without
importing anything and lists the types it would construct that skops itself does not trust
by default (its defaults are scikit-learn's public estimators and transformers, NumPy and
SciPy ufuncs, dtypes, arrays, scalars and random generators). This module decides which of
those the registry accepts, by **exact name**, never by module prefix and never by importing
the name to look at it:

- :data:`ALLOWED_TYPES`: classes that are data and not actions — the internal state objects of
  scikit-learn estimators (trees, neighbour indexes, distance metrics, kernels, optimiser
  state), SciPy sparse matrices and a few builtin containers. Versioned with Lakebook; no
  function is on it.
- types a user trusted explicitly: for every version of a model
  (:meth:`~kernel_magics.registry.ModelRegistry.trust`, recorded in the catalog), at
  registration (``register(trusted=...)``, recorded with the version) or for one
  ``load(trusted=...)`` call;
- :func:`never_trusted`: names refused even then — anything under ``os``, ``subprocess``,
  ``importlib``, ``pickle`` and the like, builtins that are calls (``eval``, ``exec``,
  ``getattr``, ``open`` …), and the parts of NumPy/SciPy/scikit-learn/pandas that read or
  write files, compile code or exist for tests (``memmap``, ``load``, ``fromfile``,
  ``genfromtxt``, ``fromregex``, ``DataSource``, ``lib.format``, ``f2py``, ``ctypeslib``,
  ``testing``, ``scipy.io`` …).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..shared.errors import InvalidInput, UnsafeArtifact

_DIST = "sklearn.metrics._dist_metrics."
_KERNELS = "sklearn.gaussian_process.kernels."
_SPARSE = {"bsr": "_bsr", "coo": "_coo", "csc": "_csc", "csr": "_csr", "dia": "_dia",
           "dok": "_dok", "lil": "_lil"}

#: Types an artifact may hold beyond skops' own defaults, by exact name. Every entry is a
#: class whose construction from a file only sets data (no file, OS or code access).
#: Tree-like indexes (``Tree``, ``TreePredictor``, ``KDTree``, ``BallTree``) hold node indices
#: scikit-learn does not bounds-check, so a crafted one can crash a prediction: they are
#: accepted because the registry also refuses an artifact whose bytes changed since it was
#: registered (its sha256 is kept in the catalog).
ALLOWED_TYPES: frozenset[str] = frozenset({
    # builtin data containers skops does not trust by default
    "builtins.frozenset", "builtins.slice", "builtins.complex", "builtins.bytes",
    "builtins.bytearray", "builtins.range",
    # NumPy data
    "numpy.dtype",
    # SciPy sparse matrices and arrays
    *(f"scipy.sparse.{mod}.{kind}_{form}" for kind, mod in _SPARSE.items()
      for form in ("matrix", "array")),
    "scipy.interpolate._bsplines.BSpline",
    # scikit-learn estimators' internal state
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.neighbors._kd_tree.KDTree", "sklearn.neighbors._ball_tree.BallTree",
    *(f"{_DIST}{metric}Distance{bits}" for bits in (32, 64) for metric in (
        "BrayCurtis", "Canberra", "Chebyshev", "Dice", "Euclidean", "Hamming", "Haversine",
        "Jaccard", "Kulsinski", "Mahalanobis", "Manhattan", "Matching", "Minkowski",
        "RogersTanimoto", "RussellRao", "SEuclidean", "SokalMichener", "SokalSneath")),
    *(f"{_KERNELS}{k}" for k in (
        "CompoundKernel", "ConstantKernel", "DotProduct", "ExpSineSquared", "Exponentiation",
        "Hyperparameter", "Matern", "PairwiseKernel", "Product", "RBF", "RationalQuadratic",
        "Sum", "WhiteKernel")),
    "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn._loss.loss.HalfTweedieLoss", "sklearn._loss.loss.HalfTweedieLossIdentity",
    "sklearn.cluster._bisect_k_means._BisectingTree",
})

# -- never trusted ----------------------------------------------------------------------------
#: whole modules that reach the OS, files, the network or the interpreter
_NEVER_MODULES = (
    "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "importlib", "imp", "pickle",
    "_pickle", "pickletools", "copyreg", "marshal", "shelve", "dbm", "sys", "ctypes", "_ctypes",
    "socket", "ssl", "select", "signal", "runpy", "code", "codeop", "pdb", "bdb", "pty",
    "platform", "multiprocessing", "concurrent", "threading", "_thread", "asyncio", "io",
    "_io", "pathlib", "tempfile", "shutil", "glob", "fileinput", "zipfile", "zipimport",
    "tarfile", "gzip", "bz2", "lzma", "pkgutil", "site", "sysconfig", "webbrowser", "urllib",
    "http", "ftplib", "smtplib", "xmlrpc", "sqlite3", "logging", "inspect", "gc", "atexit",
    "types", "functools", "operator", "joblib", "cloudpickle", "dill", "skops",
    "numpy.f2py", "numpy.distutils", "numpy.testing", "numpy.ctypeslib", "numpy.lib.format",
    "numpy.lib._format_impl", "numpy.lib.npyio", "numpy.lib._npyio_impl",
    "numpy.lib._datasource", "numpy.lib._iotools", "numpy.compat", "numpy._pytesttester",
    "scipy.io", "scipy.datasets", "scipy.misc", "scipy._lib._testutils", "scipy.weave",
    "sklearn.datasets", "sklearn.externals", "sklearn.utils._testing",
    "sklearn.utils._show_versions", "pandas.io", "pandas.testing", "pandas._testing",
)
_NEVER_MODULE = re.compile(
    r"^(" + "|".join(re.escape(m) for m in _NEVER_MODULES) + r")(\.|$)"
    r"|(^|\.)(testing|_testing|tests|conftest)(\.|$)")
#: builtins that are data; every other builtin (eval, exec, getattr, open, __import__, type…)
#: is a call and never trusted
_BUILTIN_DATA = {"builtins." + t for t in (
    "int", "float", "str", "bool", "list", "dict", "set", "tuple", "frozenset", "slice",
    "complex", "bytes", "bytearray", "range")}
#: leaf names in the data libraries that read or write files or run code
_NEVER_LEAF = re.compile(
    r"^(numpy|scipy|sklearn|pandas)(\.\w+)*\.(memmap|load|loads|loadtxt|save|savez|"
    r"savez_compressed|savetxt|fromfile|tofile|genfromtxt|recfromtxt|recfromcsv|fromregex|"
    r"DataSource|open|dump|dumps|read_\w+|to_\w+|eval|query|system)$")
#: calls that are never data, in any module
_NEVER_ANYWHERE = re.compile(
    r"(^|\.)(system|popen|spawn\w*|exec\w*|eval|compile|__import__|__reduce\w*__|"
    r"__getattr\w*__|__setattr__|__call__|__globals__|__builtins__|__subclasses__)$")


def never_trusted(name: str) -> str | None:
    """Why the type (or function) ``name`` is never trusted, or None when a user may trust it.
    Decided on the name alone: nothing is imported."""
    if name.startswith(("builtins.", "__builtin__.")):
        return None if name in _BUILTIN_DATA else "it is a Python builtin that runs code"
    if _NEVER_MODULE.search(name):
        return "its module reaches files, the operating system or the interpreter"
    if _NEVER_LEAF.match(name):
        return "it reads or writes files"
    if _NEVER_ANYWHERE.search(name):
        return "it runs code"
    return None


def type_name(value: str | type | Any) -> str:
    """The fully qualified name skops uses for ``value`` (a type, a function or a name)."""
    if isinstance(value, str):
        return value
    obj = value if isinstance(value, type) or callable(value) else type(value)
    return f"{obj.__module__}.{obj.__qualname__}"


def trustable(names: Iterable[str | type], what: str) -> list[str]:
    """``names`` as sorted type names, refusing (InvalidInput) any that is never trusted.
    ``what`` says where the names were given (e.g. ``"register(trusted=...)"``)."""
    out = sorted({type_name(n) for n in names or []})
    for name in out:
        if not isinstance(name, str) or not name or "." not in name:
            raise InvalidInput(f"{name!r} in {what} is not a fully qualified type name.",
                               "Give names such as 'mypackage.module.MyTransformer'.")
        reason = never_trusted(name)
        if reason:
            raise InvalidInput(
                f"{name} cannot be trusted ({reason}); nothing was changed.",
                "A model that needs it can only be kept with flavour='pickle' and loaded "
                "with allow_unsafe=True, if you trust whoever wrote the file.")
    return out


@dataclass(frozen=True)
class TrustPolicy:
    """Which types an artifact may contain: :data:`ALLOWED_TYPES` plus ``extra`` (names a
    user trusted explicitly), minus whatever :func:`never_trusted` refuses."""

    extra: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def with_types(cls, trusted: Iterable[str | type] | None = None) -> "TrustPolicy":
        return cls(extra=frozenset(type_name(t) for t in (trusted or [])))

    def allows(self, name: str) -> bool:
        """Whether the registry trusts the type (or function) called ``name``."""
        if never_trusted(name):
            return False
        return name in ALLOWED_TYPES or name in self.extra

    def refused(self, names: Iterable[str]) -> list[str]:
        """The names among ``names`` this policy does not trust."""
        return sorted(n for n in set(names) if not self.allows(n))

    def check(self, untrusted: Iterable[str], what: str, model: str | None = None) -> list[str]:
        """The types to pass to the loader; raises :class:`UnsafeArtifact` naming any type the
        policy refuses. ``what`` names the artifact in the user's terms."""
        names = sorted(set(untrusted))
        refused = self.refused(names)
        if refused:
            raise UnsafeArtifact(f"{what} holds {describe(refused)} that the registry does not "
                                 "trust, so it was not loaded.", trust_hint(refused, model))
        return names


def describe(refused: list[str]) -> str:
    """``type a.B`` / ``types a.B, c.D`` (and why, for names that are never trusted)."""
    parts = []
    for name in refused:
        reason = never_trusted(name)
        parts.append(f"{name} (never trusted: {reason})" if reason else name)
    return f"type{'s' if len(refused) > 1 else ''} {', '.join(parts)}"


def trust_hint(refused: list[str], model: str | None) -> str:
    """What a user can do about refused types: trust them for the model (when that is
    allowed), or nothing."""
    allowed = [n for n in refused if not never_trusted(n)]
    if len(allowed) < len(refused):
        return ("Lakebook never loads such a file. Register the model again from your own "
                "code; if you must keep it, use flavour='pickle' with allow_unsafe=True.")
    target = repr(model) if model else "'<model>'"
    return (f"If you wrote that code and trust this file, trust the types for the model with "
            f"lh.registry.trust({target}, {allowed!r}) (recorded in the catalog), or pass "
            f"trusted={allowed!r} to register().")
