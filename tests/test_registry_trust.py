"""Artifacts are loaded under the registry's own trust policy, never the artifact's word."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from kernel_magics.shared.errors import InvalidInput, UnsafeArtifact
from kernel_magics.registry.trust import TrustPolicy

CONSTRUCTED: list[str] = []


class Payload:
    """Stands in for an attacker's class: constructing it leaves a trace."""

    def __init__(self):
        self.command = "rm -rf ~"

    def __setstate__(self, state):
        CONSTRUCTED.append("payload")
        self.__dict__.update(state)


class Doubler(BaseEstimator, TransformerMixin):
    """A user's own transformer (not sklearn/numpy/scipy)."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X) * 2


@pytest.fixture
def iris_model():
    X, y = load_iris(return_X_y=True)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(X, y), X


def _rehash(lh, name):
    """Record the artifact's new sha256, as an attacker who can also write the catalog could
    (otherwise the changed bytes alone are refused; see tests/security)."""
    import hashlib
    for mv in lh.registry.versions(name):
        digest = hashlib.sha256((mv.artifact_path / "model.skops").read_bytes()).hexdigest()
        lh.catalog.execute("UPDATE model_versions SET artifact_sha256 = ? WHERE name = ? AND "
                           "version = ?", (digest, name, mv.version))


def _rewrite_schema(path, edit):
    """Rewrite schema.json inside a skops zip (as an attacker with file access could)."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    schema = json.loads(members["schema.json"])
    edit(schema)
    members["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)


def test_policy_trusts_library_classes_only():
    policy = TrustPolicy()  # asked only about what skops itself does not trust
    assert policy.allows("sklearn.tree._tree.Tree")
    assert policy.allows("numpy.dtype")
    assert policy.allows("scipy.sparse._csr.csr_matrix")
    assert not policy.allows("os.system")
    assert not policy.allows("builtins.eval")
    assert not policy.allows("subprocess.Popen")
    assert not policy.allows("numpy.load")            # reads pickles with allow_pickle
    assert not policy.allows("numpy.testing.assert_equal")
    assert not policy.allows("sklearn.does_not.Exist")
    assert not policy.allows("sklearnx.Evil")         # the prefix is a dotted module name
    assert TrustPolicy.with_types([Payload]).allows(f"{__name__}.Payload")


def test_artifact_of_a_custom_class_is_refused_naming_the_type(lh, iris_model):
    model, X = iris_model
    mv = lh.registry.register(model, "iris")
    # replace the artifact by a dump of an object of a custom class
    sio.dump(Payload(), mv.artifact_path / "model.skops")
    _rehash(lh, "iris")
    CONSTRUCTED.clear()
    fresh = lh.registry.get("iris", 1)
    with pytest.raises(UnsafeArtifact, match=r"Payload"):
        fresh.load()
    assert CONSTRUCTED == []  # refused before anything was built
    # trusting it explicitly is the user's decision
    assert isinstance(fresh.load(trusted=[Payload]), Payload)
    assert CONSTRUCTED == ["payload"]


def test_edited_schema_is_refused(lh, iris_model):
    model, X = iris_model
    mv = lh.registry.register(model, "iris")
    path = mv.artifact_path / "model.skops"

    def to_popen(schema):  # the pipeline itself becomes a subprocess.Popen
        schema["__module__"], schema["__class__"] = "subprocess", "Popen"

    _rewrite_schema(path, to_popen)
    _rehash(lh, "iris")
    with pytest.raises(UnsafeArtifact, match=r"subprocess\.Popen"):
        lh.registry.get("iris", 1).load()


def test_edited_function_under_a_trusted_prefix_is_refused(lh):
    import numpy as np
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.linear_model import LinearRegression
    X = np.random.default_rng(0).random((20, 2))
    model = make_pipeline(FunctionTransformer(np.log1p), LinearRegression()).fit(X, X[:, 0])
    mv = lh.registry.register(model, "fn")
    assert np.allclose(lh.registry.get("fn").predict(X), model.predict(X))

    def to_np_load(node):
        if isinstance(node, dict):
            if node.get("__loader__") == "FunctionNode":
                node["__class__"] = "load"
            for v in node.values():
                to_np_load(v)
        elif isinstance(node, list):
            for v in node:
                to_np_load(v)

    _rewrite_schema(mv.artifact_path / "model.skops", to_np_load)
    _rehash(lh, "fn")
    with pytest.raises(UnsafeArtifact, match=r"numpy\.load"):
        lh.registry.get("fn").load()


def test_user_types_must_be_trusted_at_registration(lh, iris_model):
    _, X = iris_model
    y = load_iris(return_X_y=True)[1]
    model = make_pipeline(Doubler(), LogisticRegression(max_iter=500)).fit(X, y)
    with pytest.raises(InvalidInput, match="Doubler"):
        lh.registry.register(model, "own")
    assert lh.catalog.scalar("SELECT COUNT(*) FROM model_versions") == 0
    mv = lh.registry.register(model, "own", trusted=[Doubler])
    assert mv.trusted_types == [f"{__name__}.Doubler"]
    np.testing.assert_array_equal(lh.registry.get("own").predict(X), model.predict(X))


def test_pickle_flavour_needs_allow_unsafe(lh, iris_model):
    model, X = iris_model
    mv = lh.registry.register(model, "pickled", flavour="pickle")
    assert mv.flavour == "pickle"
    fresh = lh.registry.get("pickled")
    with pytest.raises(UnsafeArtifact, match="allow_unsafe=True"):
        fresh.predict(X)
    np.testing.assert_array_equal(fresh.load(allow_unsafe=True).predict(X), model.predict(X))
