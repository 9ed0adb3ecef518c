"""Issue 25: crafted artifacts of the framework flavours are refused, or load as data only.

The attacker here writes the model files *and* the catalog's digest (so the sha256 check
does not stop them): what protects the process is each format's own check.

- XGBoost JSON and LightGBM text never unpickle, but their libraries trust node indices: a
  child out of range or pointing back up the tree crashes the process (SIGSEGV) or loops
  forever, a truncated LightGBM file crashes at load, a wrong ``tree_sizes`` aborts it. The
  child-process tests show the library really does that with the crafted file; the registry
  refuses the same file before the library sees it.
- ONNX: a custom operator (also hidden in an ``If`` branch) is refused unless trusted by name;
  a tensor kept in an external file is refused; ``ort_config`` metadata cannot make
  onnxruntime write profiling files.
- A pickle renamed to any of these files is refused as not being the format, and never
  unpickled.
"""
from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

lgb = pytest.importorskip("lightgbm")
xgb = pytest.importorskip("xgboost")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper  # noqa: E402

from kernel_magics.registry.frameworks import artifacts  # noqa: E402
from kernel_magics.shared.errors import InvalidInput, UnsafeArtifact  # noqa: E402


def _data(n: int = 300):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    return X, ((X.a + X.b) > 0).astype(int)


def _plant(lh, name: str, filename: str, data: bytes) -> Path:
    """Replace the artifact of ``name`` v1 by ``data`` and make the catalog agree."""
    folder = lh.registry.get(name, 1).artifact_path
    (folder / filename).write_bytes(data)
    lh.catalog.execute("UPDATE model_versions SET artifact_sha256 = ? WHERE name = ?",
                       (artifacts.digest(folder, filename), name))
    return folder


def _child_dies(code: str, timeout: float = 20) -> str:
    """Run ``code`` in a child process: how it ended (a signal, a hang, or an exit)."""
    try:
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "hang"
    return f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"


# -- XGBoost --------------------------------------------------------------------------------
@pytest.fixture
def xgb_model(lh):
    X, y = _data()
    clf = xgb.XGBClassifier(n_estimators=5, max_depth=3).fit(X, y)
    lh.registry.register(clf, "m", input_example=X)
    folder = lh.registry.get("m").artifact_path
    return json.loads((folder / "model.json").read_bytes()), X


def _xgb_mutant(model: dict, field: str, value: int, node: int = 0) -> bytes:
    m = json.loads(json.dumps(model))
    m["learner"]["gradient_booster"]["model"]["trees"][0][field][node] = value
    return json.dumps(m).encode()


XGB_CASES = [("left_children", 10**6, 0), ("left_children", 0, 0), ("left_children", -5, 0),
             ("split_indices", 10**6, 0), ("left_children", 1, 1)]


@pytest.mark.parametrize("field,value,node", XGB_CASES)
def test_crafted_xgboost_trees_are_refused(lh, xgb_model, field, value, node):
    model, X = xgb_model
    _plant(lh, "m", "model.json", _xgb_mutant(model, field, value, node))
    with pytest.raises(UnsafeArtifact, match="is not a valid model file"):
        lh.registry.get("m").load()


def test_xgboost_itself_crashes_on_the_crafted_tree(lh, xgb_model, tmp_path):
    """Why the check exists: XGBoost loads the file and dies on predict."""
    model, X = xgb_model
    path = tmp_path / "bad.json"
    path.write_bytes(_xgb_mutant(model, "left_children", 10**6))
    how = _child_dies(f"""
        import numpy as np, xgboost as xgb
        b = xgb.Booster(); b.load_model({str(path)!r})
        b.inplace_predict(np.zeros((5, 4)))
    """)
    assert how.startswith("signal") or how == "hang", how


# -- LightGBM -------------------------------------------------------------------------------
@pytest.fixture
def lgb_text(lh):
    X, y = _data()
    clf = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    lh.registry.register(clf, "m", input_example=X)
    return (lh.registry.get("m").artifact_path / "model.txt").read_bytes()


def _resize(text: bytes) -> bytes:
    """Recompute ``tree_sizes`` so that only the mutated structure is wrong."""
    starts = [m.start() for m in re.finditer(rb"^Tree=", text, re.M)]
    end = text.index(b"\nend of trees") + 1
    sizes = [e - s for s, e in zip(starts, starts[1:] + [end])]
    return re.sub(rb"^tree_sizes=.*$", b"tree_sizes=" + " ".join(map(str, sizes)).encode(),
                  text, count=1, flags=re.M)


def _lgb_mutant(text: bytes, field: str, value: int) -> bytes:
    lines = text.split(b"\n")
    i = next(i for i, ln in enumerate(lines) if ln.startswith(field.encode() + b"="))
    values = lines[i].split(b"=", 1)[1].split()
    values[0] = str(value).encode()
    lines[i] = field.encode() + b"=" + b" ".join(values)
    return _resize(b"\n".join(lines))


LGB_CASES = {
    "truncated": lambda t: t[: len(t) // 2],
    "tree_sizes": lambda t: re.sub(rb"tree_sizes=(\d+)",
                                   lambda m: b"tree_sizes=" + str(int(m.group(1)) + 7).encode(),
                                   t, count=1),
    "child out of range": lambda t: _lgb_mutant(t, "left_child", 10**6),
    "leaf out of range": lambda t: _lgb_mutant(t, "left_child", -10**6),
    "cycle to the root": lambda t: _lgb_mutant(t, "left_child", 0),
    "split feature": lambda t: _lgb_mutant(t, "split_feature", 10**6),
    "short leaf values": lambda t: _resize(re.sub(rb"^(leaf_value=\S+) \S+", rb"\1", t,
                                                  count=1, flags=re.M)),
}


@pytest.mark.parametrize("case", list(LGB_CASES))
def test_crafted_lightgbm_texts_are_refused(lh, lgb_text, case):
    _plant(lh, "m", "model.txt", LGB_CASES[case](lgb_text))
    with pytest.raises(UnsafeArtifact, match="is not a valid model file"):
        lh.registry.get("m").load()


@pytest.mark.parametrize("case", ["truncated", "child out of range", "cycle to the root"])
def test_lightgbm_itself_crashes_or_hangs_on_the_crafted_text(lgb_text, tmp_path, case):
    path = tmp_path / "bad.txt"
    path.write_bytes(LGB_CASES[case](lgb_text))
    how = _child_dies(f"""
        import numpy as np, lightgbm as lgb
        b = lgb.Booster(model_file={str(path)!r})
        b.predict(np.random.default_rng(0).normal(size=(50, 4)))
    """, timeout=15)
    assert how.startswith("signal") or how == "hang", how


def test_an_honest_booster_loads_after_the_checks(lh, lgb_text):
    X, _ = _data()
    got = lh.registry.get("m").predict_proba(X)
    assert got.shape == (len(X), 2) and np.allclose(got.sum(axis=1), 1)


@pytest.mark.parametrize("flavour,filename", [("lightgbm", "model.txt"),
                                              ("xgboost", "model.json")])
def test_a_pickle_renamed_to_a_booster_file_is_never_unpickled(lh, tmp_path, flavour,
                                                               filename, monkeypatch):
    X, y = _data()
    model = (lgb.LGBMClassifier(n_estimators=3, verbose=-1) if flavour == "lightgbm"
             else xgb.XGBClassifier(n_estimators=3)).fit(X, y)
    lh.registry.register(model, "m", input_example=X)
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (marker.touch, ())

    _plant(lh, "m", filename, pickle.dumps(Payload()))
    calls = []
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: calls.append(a))
    with pytest.raises(UnsafeArtifact, match="is not a valid model file"):
        lh.registry.get("m").load()
    assert not marker.exists() and not calls


def test_a_changed_description_is_refused_by_the_digest(lh, lgb_text):
    folder = lh.registry.get("m").artifact_path
    info = json.loads((folder / artifacts.INFO_FILE).read_text())
    info["classes"] = [1, 0]  # swap the labels
    (folder / artifacts.INFO_FILE).write_text(json.dumps(info))
    with pytest.raises(UnsafeArtifact, match="sha256 changed"):
        lh.registry.get("m").load()


# -- ONNX -----------------------------------------------------------------------------------
def _graph_model(nodes, extra_opsets=(), functions=()):
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 2])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 2])
    graph = helper.make_graph(nodes, "g", [x], [y])
    opsets = [helper.make_opsetid("", 17), *[helper.make_opsetid(d, 1) for d in extra_opsets]]
    return helper.make_model(graph, opset_imports=opsets, functions=list(functions))


def _custom_op_model(hidden: bool):
    evil = helper.make_node("Pwn", ["X"], ["Y"], domain="com.evil")
    if not hidden:
        return _graph_model([evil], ["com.evil"])
    then = helper.make_graph([helper.make_node("Pwn", ["X"], ["t"], domain="com.evil")], "then",
                             [], [helper.make_tensor_value_info("t", TensorProto.FLOAT, None)])
    other = helper.make_graph([helper.make_node("Identity", ["X"], ["e"])], "else", [],
                              [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)])
    cond = helper.make_node("Constant", [], ["c"], value=helper.make_tensor(
        "c", TensorProto.BOOL, [], [True]))
    branch = helper.make_node("If", ["c"], ["Y"], then_branch=then, else_branch=other)
    return _graph_model([cond, branch], ["com.evil"])


@pytest.mark.parametrize("hidden", [False, True], ids=["top level", "in an If branch"])
def test_an_onnx_custom_operator_is_refused_unless_trusted_by_name(lh, hidden):
    import kernel_magics as kb
    model = _custom_op_model(hidden)
    with pytest.raises(UnsafeArtifact, match=r"onnx:com\.evil\.Pwn") as err:
        kb.onnx_model(model)
    assert "trust" in err.value.hint
    with pytest.raises(UnsafeArtifact, match=r"onnx:com\.evil\.Pwn"):
        lh.registry.register(model, "evil", flavour="onnx")
    assert lh.catalog.scalar("SELECT COUNT(*) FROM model_versions") == 0
    # trusted by name, it reaches onnxruntime, which has no such operator: refused there
    with pytest.raises(InvalidInput, match="onnxruntime cannot run"):
        kb.onnx_model(model, trusted=["onnx:com.evil.Pwn"])


def test_a_crafted_onnx_file_with_a_custom_operator_is_refused_at_load(lh):
    import kernel_magics as kb
    honest = _graph_model([helper.make_node("Identity", ["X"], ["Y"])])
    lh.registry.register(kb.onnx_model(honest), "m", input_example=np.zeros((2, 2)))
    _plant(lh, "m", "model.onnx", _custom_op_model(True).SerializeToString())
    with pytest.raises(UnsafeArtifact, match=r"onnx:com\.evil\.Pwn"):
        lh.registry.get("m").load()


def test_a_trusted_contrib_operator_runs(lh):
    import kernel_magics as kb
    gelu = _graph_model([helper.make_node("Gelu", ["X"], ["Y"], domain="com.microsoft")],
                        ["com.microsoft"])
    with pytest.raises(UnsafeArtifact, match="com.microsoft.Gelu"):
        kb.onnx_model(gelu)
    lh.registry.trust("gelu", ["onnx:com.microsoft.Gelu"])
    mv = lh.registry.register(gelu, "gelu", flavour="onnx", input_example=np.ones((2, 2)))
    out = lh.registry.get("gelu", mv.version).predict(np.array([[0.0, 1.0]]))
    assert out.shape == (2,) and out[0] == 0.0  # a regression-style value output


def test_onnx_external_data_is_refused(lh, tmp_path):
    import kernel_magics as kb
    weight = helper.make_tensor("W", TensorProto.FLOAT, [2, 2], [1.0, 0.0, 0.0, 1.0])
    weight.data_location = TensorProto.EXTERNAL
    del weight.float_data[:]
    for key, value in (("location", "../../outside/secret.bin"), ("offset", "0"),
                       ("length", "16")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    model = _graph_model([helper.make_node("MatMul", ["X", "W"], ["Y"])])
    model.graph.initializer.append(weight)
    with pytest.raises(UnsafeArtifact, match="external data"):
        kb.onnx_model(model)


def test_ort_config_in_a_model_cannot_make_onnxruntime_write(lh, tmp_path, monkeypatch):
    import kernel_magics as kb
    model = _graph_model([helper.make_node("Identity", ["X"], ["Y"])])
    helper.set_model_props(model, {"ort_config": json.dumps(
        {"session_options": {"enable_profiling": 1}})})
    monkeypatch.setenv("ORT_LOAD_CONFIG_FROM_MODEL", "1")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    # (onnxruntime given the file itself writes onnxruntime_profile_*.json here)
    wrapped = kb.onnx_model(model)
    wrapped.predict(np.zeros((1, 2), dtype=np.float32))
    del wrapped
    assert list(cwd.iterdir()) == []


def test_garbage_is_not_an_onnx_model(lh):
    import kernel_magics as kb
    with pytest.raises(UnsafeArtifact, match="not an ONNX model"):
        kb.onnx_model(b"\x08\x07garbage" * 10)
