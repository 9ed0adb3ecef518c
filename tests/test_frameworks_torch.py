"""PyTorch through Lakebook: ``kb.torch_model(net, classes=[0, 1])`` in a ``%%training`` cell
keeps the weights as safetensors and the module's class as source; a fresh process rebuilds
it from those and a deployment serves it with probabilities. A bare module is refused with
the adapter to use; no pickle is ever written or read."""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

import kernel_magics  # noqa: E402
from test_frameworks import _lakehouse  # noqa: E402

NET = '''
import torch
import kernel_magics as kb

class FraudNet(torch.nn.Module):
    def __init__(self, n_in, hidden=16):
        super().__init__()
        self.n_in, self.hidden = n_in, hidden
        # the scaling is state too: buffers go into the safetensors file with the weights
        self.register_buffer("mean", torch.zeros(n_in))
        self.register_buffer("scale", torch.ones(n_in))
        self.layers = torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.ReLU(),
                                          torch.nn.Linear(hidden, 2))

    def forward(self, x):
        return self.layers((x - self.mean) / self.scale)

torch.manual_seed(0)
net = FraudNet(X_train.shape[1])
net.mean.copy_(torch.tensor(X_train.mean().to_numpy("float32")))
net.scale.copy_(torch.tensor(X_train.std().to_numpy("float32")))
opt = torch.optim.Adam(net.parameters(), lr=0.05)
xt = torch.tensor(X_train.to_numpy("float32"))
yt = torch.tensor(y_train.to_numpy())
for _ in range(150):
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(net(xt), yt)
    loss.backward()
    opt.step()
model = kb.torch_model(net, classes=[0, 1])
'''


def _proba(net, X: pd.DataFrame) -> np.ndarray:
    with torch.no_grad():
        return torch.softmax(net(torch.tensor(X.to_numpy("float32"))), dim=1).numpy()


def test_a_torch_classifier_trains_registers_reloads_and_serves(ipython_shell, lh, monkeypatch):
    view, df = _lakehouse(lh)
    result = ipython_shell.run_cell_magic("training", "fraud_net --view tx_view", NET)
    mv = result.model_version
    assert (mv.flavour, mv.task) == ("torch", "classification")
    assert mv.metrics["roc_auc"] > 0.8
    assert mv.libraries["torch"] == torch.__version__
    files = sorted(p.name for p in mv.artifact_path.iterdir())
    assert {"weights.safetensors", "module.py", "model_info.json"} <= set(files)
    assert "class FraudNet" in (mv.artifact_path / "module.py").read_text()
    net = ipython_shell.user_ns["net"]
    X = ipython_shell.user_ns["X_test"]
    # a fresh lakehouse object loads it without the notebook's namespace and without pickle
    ipython_shell.user_ns.pop("FraudNet")
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("unpickled"))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load"))
    fresh = kernel_magics.connect(lh.home).registry.get("fraud_net")
    np.testing.assert_allclose(fresh.predict_proba(X), _proba(net, X), rtol=1e-5, atol=1e-6)
    lh.registry.set_alias("fraud_net", "production", mv.version)
    dep = lh.deploy("net_online", model="fraud_net")
    answer = dep.predict({"cc_num": 5})
    latest = df.sort_values("ts").groupby("cc_num").tail(1).set_index("cc_num")
    assert answer["probabilities"]["1"] == pytest.approx(
        float(_proba(net, latest.loc[[5], view.features])[0, 1]), rel=1e-5)
    assert dep.batch().rows == len(view.batch_data())
    lh.deployments.close()


def test_a_bare_module_names_the_adapter(ipython_shell, lh):
    from IPython.core.error import UsageError
    view, df = _lakehouse(lh)
    cell = "import torch\nmodel = torch.nn.Linear(X_train.shape[1], 1)"
    with pytest.raises(UsageError, match=r"kb\.torch_model\(net, classes=\[0, 1\]\)"):
        ipython_shell.run_cell_magic("training", "lin --view tx_view", cell)
    assert lh.catalog.scalar("SELECT COUNT(*) FROM model_versions") == 0


def test_a_torch_regressor_with_a_module_from_a_file(lh, tmp_path, monkeypatch):
    (tmp_path / "mynets.py").write_text(
        "import torch\n\n"
        "class Lin(torch.nn.Module):\n"
        "    def __init__(self, n):\n"
        "        super().__init__()\n"
        "        self.n = n\n"
        "        self.l = torch.nn.Linear(n, 1)\n\n"
        "    def forward(self, x):\n"
        "        return self.l(x)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import mynets
    net = mynets.Lin(2)
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 1.0, -1.0]})
    mv = lh.registry.register(kernel_magics.torch_model(net), "lin", input_example=X)
    assert mv.task is None and mv.signature.get("classes") is None
    with torch.no_grad():
        want = net(torch.tensor(X.to_numpy("float32"))).numpy().reshape(-1)
    monkeypatch.delitem(__import__("sys").modules, "mynets")
    got = kernel_magics.connect(lh.home).registry.get("lin").predict(X)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_the_readme_torch_example_runs(lh):
    from readme import code_blocks
    from test_frameworks import _readme_namespace
    block = code_blocks("Any framework: XGBoost, LightGBM, ONNX, PyTorch", "python")[1]
    namespace = _readme_namespace(lh)
    # a notebook keeps each cell's text where inspect finds it (IPython's linecache entry)
    import linecache
    name = "<README.md (Any framework, PyTorch)>"
    linecache.cache[name] = (len(block), None, block.splitlines(True), name)
    exec(compile(block, name, "exec"), namespace)
    mv = lh.registry.get("fraud_net")
    assert mv.flavour == "torch" and mv.signature["classes"] == [0, 1]


def test_export_model_writes_a_torch_export_program_mlflow_loads(lh, tmp_path, monkeypatch):
    """``lakebook export-model`` on a PyTorch version: MLflow's pytorch flavour as a
    ``torch.export`` program (no pickle), which ``mlflow.pyfunc`` loads (checking it is free
    of pickles) and which predicts the network's own outputs, the logits behind the
    registry's probabilities."""
    import json
    import subprocess

    import yaml
    mlflow_pyfunc = pytest.importorskip("mlflow.pyfunc")
    from conftest import lakebook_script
    (tmp_path / "fraudnets.py").write_text(
        "import torch\n\n"
        "class Net(torch.nn.Module):\n"
        "    def __init__(self, n_in, hidden=8):\n"
        "        super().__init__()\n"
        "        self.n_in, self.hidden = n_in, hidden\n"
        "        self.layers = torch.nn.Sequential(torch.nn.Linear(n_in, hidden),\n"
        "                                          torch.nn.ReLU(), torch.nn.Linear(hidden, 2))\n\n"
        "    def forward(self, x):\n"
        "        return self.layers(x)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import fraudnets
    view, df = _lakehouse(lh)
    X_train, X_test, y_train, y_test = view.train_test_split()
    torch.manual_seed(0)
    net = fraudnets.Net(X_train.shape[1])
    mv = lh.registry.register(kernel_magics.torch_model(net, classes=[0, 1]), "fraud_net",
                              view=view, input_example=X_train)
    out = tmp_path / "fraud_net_mlflow"
    done = subprocess.run([lakebook_script(), "--home", str(lh.home), "export-model",
                           "fraud_net", "--out", str(out)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    mlmodel = yaml.safe_load((out / "MLmodel").read_text())
    assert "pytorch" in mlmodel["flavors"] and "python_function" in mlmodel["flavors"]
    assert [p.name for p in (out / "data").iterdir()] == ["model.pt2"]
    [spec] = json.loads(mlmodel["signature"]["inputs"])
    assert spec["tensor-spec"] == {"dtype": "float32", "shape": [-1, X_train.shape[1]]}
    assert f"torch=={mv.libraries['torch']}" in (out / "requirements.txt").read_text()

    loaded = mlflow_pyfunc.load_model(str(out))
    with torch.no_grad():
        logits = net(torch.tensor(X_test.to_numpy("float32"))).numpy()
    got = loaded.predict(X_test.to_numpy("float32"))
    np.testing.assert_allclose(got, logits, rtol=1e-5, atol=1e-6)
    # the registry's probabilities are the softmax of those outputs
    e = np.exp(got - got.max(axis=1, keepdims=True))
    np.testing.assert_allclose(e / e.sum(axis=1, keepdims=True),
                               lh.registry.get("fraud_net").predict_proba(X_test), rtol=1e-5,
                               atol=1e-6)
