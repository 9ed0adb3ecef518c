"""Issue 24, finding 1: a crafted skops artifact must never write, read or run anything.

The registry trusts an exact allowlist of data types (``registry.trust.ALLOWED_TYPES``), the
types a user trusted for a model (recorded in the catalog), and never a function or class that
reaches files or the OS, whatever the catalog says. Each crafted artifact of
``skops_payloads.corpus`` is refused by ``registry.get(...).load()`` and by a deployment, and
while it is refused nothing is imported, created, changed or read: a watched folder is compared
before and after, and a ``sys.addaudithook`` recorder sees every ``open``/``os.*`` the load
makes. The corpus is real: in a child process, skops told to trust each file does the harm.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

from audit import changes, recording, snapshot
from kernel_magics.shared.errors import InvalidInput, LakebookError, UnsafeArtifact
from skops_payloads import EVIL_MODULE, corpus, prepare_watched

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The watched folder the payloads aim at, and the folder of the attacker's module (on
    sys.path, so that an import would really run it)."""
    base = tmp_path_factory.mktemp("skops")
    watched, modules = base / "watched", base / "modules"
    prepare_watched(watched, modules)
    os.environ["LAKEBOOK_WATCHED"] = str(watched)
    sys.path.insert(0, str(modules))
    try:
        yield watched, modules
    finally:
        sys.path.remove(str(modules))
        sys.modules.pop(EVIL_MODULE, None)


PAYLOADS = corpus(Path("/watched-placeholder"))


def _payload(world, name):
    return next(p for p in corpus(world[0]) if p.name == name)


def test_corpus_has_the_probe_payloads():
    names = {p.name for p in PAYLOADS}
    assert len(names) >= 17
    for probe in ("builtins.eval", "builtins.exec", "os.system", "posix.system", "custom class",
                  "numpy.load (allow_pickle)", "numpy.memmap", "numpy.copyto + numpy.memmap",
                  "numpy.genfromtxt", "numpy.fromregex", "numpy.lib.format.read_array",
                  "numpy DataSource", "numpy DataSource (temp folder)", "scipy.io.loadmat", "numpy.f2py",
                  "operator.attrgetter gadget", "test helper: numpy.testing runstring",
                  "test helper: sklearn assert_run_python_script"):
        assert probe in names


HARM_SCRIPT = textwrap.dedent('''
    import json, os, sys, warnings
    from pathlib import Path
    warnings.filterwarnings("ignore")
    sys.path.insert(0, sys.argv[2])
    import skops.io as sio
    from audit import recording, snapshot, changes
    from skops_payloads import corpus
    watched = Path(sys.argv[1])
    found = {}
    for p in corpus(watched):
        sys.modules.pop("lakebook_evil_payload", None)
        before = snapshot(watched)
        evidence = []
        with recording() as events:
            try:
                loaded = sio.loads(p.data, trusted=sio.get_untrusted_types(data=p.data))
                if p.trigger is not None:
                    result = p.trigger(loaded)
                    if isinstance(result, dict) and "__builtins__" in result:
                        evidence.append("reached the interpreter's globals")
            except BaseException as exc:  # harm may come before the error
                evidence.append(f"raised {type(exc).__name__}")
        touched = [e for e in events if e[0] != "import"]
        touched = [e for e in touched if not (e[0] == "open" and str(e[1][0]).endswith(
            (".py", ".pyc", ".so")) and "site-packages" in str(e[1][0]))]
        found[p.name] = {"files": changes(before, snapshot(watched)),
                         "events": [list(map(str, e)) for e in touched][:5],
                         "notes": evidence}
    print(json.dumps(found))
''')


@pytest.mark.slow
def test_payloads_do_harm_when_trusted(tmp_path):
    """The refusals below mean something: trusted, each payload writes, reads or runs."""
    watched, modules = tmp_path / "watched", tmp_path / "modules"
    prepare_watched(watched, modules)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(modules), str(HERE)]),
           "LAKEBOOK_WATCHED": str(watched)}
    out = subprocess.run([sys.executable, "-c", HARM_SCRIPT, str(watched), str(HERE)],
                         env=env, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    harmless = {name: f for name, f in found.items()
                if not f["files"] and not f["events"]
                and "reached the interpreter's globals" not in f["notes"]}
    assert not harmless, harmless
    assert (watched / "pwned_copyto").read_bytes() == b"pwnd"   # the probe's file write


@pytest.fixture
def model(lh):
    X = np.random.default_rng(0).random((30, 2))
    lh.registry.register(LogisticRegression().fit(X, (X[:, 0] > 0.5).astype(int)), "m")
    lh.registry.get("m").load()  # warm up: every lazy import of a legitimate load happens now
    return X


def plant(lh, data: bytes, catalog_too: bool = True) -> None:
    """Replace version 1's artifact by ``data``; ``catalog_too``: also its recorded digest,
    as an attacker who can write the catalog would."""
    mv = lh.registry.get("m", 1)
    (mv.artifact_path / "model.skops").write_bytes(data)
    columns = {c["name"] for c in lh.catalog.query("PRAGMA table_info(model_versions)")}
    if catalog_too and "artifact_sha256" in columns:
        lh.catalog.execute("UPDATE model_versions SET artifact_sha256 = ? WHERE name = 'm'",
                           (hashlib.sha256(data).hexdigest(),))


def refused_cleanly(lh, world, load) -> tuple[UnsafeArtifact, list]:
    """Run ``load`` (which must raise UnsafeArtifact) and check it left no trace."""
    watched, _ = world
    artifact = lh.registry.get("m", 1).artifact_path / "model.skops"
    before = snapshot(watched, lh.home)
    modules = set(sys.modules)
    with recording() as events:
        with pytest.raises(UnsafeArtifact) as info:
            load()
    assert changes(before, snapshot(watched, lh.home)) == []
    assert set(sys.modules) - modules == set(), "the load imported a module"
    touched = [e for e in events if e[0] != "import"]
    # the only file the refused load may open is the artifact itself, for reading
    assert all(e[0] == "open" and e[1][0] == str(artifact) and e[1][1] in ("r", "rb")
               for e in touched), touched
    assert not (watched / "pwned_import").exists() and EVIL_MODULE not in sys.modules
    return info.value, touched


@pytest.mark.parametrize("name", [p.name for p in PAYLOADS])
def test_payload_is_refused_by_the_registry_and_touches_nothing(lh, model, world, name):
    payload = _payload(world, name)
    plant(lh, payload.data)
    error, _ = refused_cleanly(lh, world, lambda: lh.registry.get("m", 1).load())
    for type_name in payload.names:
        assert type_name in error.message
    assert error.http_status == 422


def test_payload_is_refused_when_a_deployment_loads_the_model(lh, model, world):
    payload = _payload(world, "numpy.copyto + numpy.memmap")
    lh.deploy("scorer", model="m", version=1)
    plant(lh, payload.data)
    deployment = lh.deployments.get("scorer")
    error, _ = refused_cleanly(lh, world, lambda: deployment.predict([{"x0": 1.0, "x1": 2.0}]))
    assert "numpy.memmap" in error.message
    assert not (world[0] / "pwned_copyto").exists()


def test_a_changed_artifact_is_refused_even_when_its_types_are_trusted(lh, model, world):
    """The bytes registered are the bytes loaded: a swapped (even benign) file is refused."""
    other = sio.dumps(LogisticRegression().fit(model, (model[:, 1] > 0.5).astype(int)))
    plant(lh, other, catalog_too=False)
    error, _ = refused_cleanly(lh, world, lambda: lh.registry.get("m", 1).load())
    assert "sha256" in error.message


def test_never_trusted_names_cannot_be_trusted_explicitly(lh, model, world):
    for names in (["numpy.memmap"], ["os.system"], ["builtins.eval"], ["pickle.loads"],
                  ["numpy.lib.format.read_array"], ["operator.attrgetter"]):
        with pytest.raises(InvalidInput, match="cannot be trusted"):
            lh.registry.trust("m", names)
        with pytest.raises(InvalidInput, match="cannot be trusted"):
            lh.registry.get("m", 1).load(trusted=names)
    assert lh.registry.trusted_types("m") == []
    # a catalog edited by hand (or by an attacker) does not make them loadable either
    payload = _payload(world, "numpy.copyto + numpy.memmap")
    plant(lh, payload.data)
    lh.catalog.execute("UPDATE models SET trusted_types = ? WHERE name = 'm'",
                       (json.dumps(["numpy.copyto", "numpy.memmap"]),))
    lh.catalog.execute("UPDATE model_versions SET trusted_types = ? WHERE name = 'm'",
                       (json.dumps(["numpy.memmap"]),))
    error, _ = refused_cleanly(lh, world, lambda: lh.registry.get("m", 1).load())
    assert "numpy.memmap (never trusted" in error.message


def test_policy_decides_by_exact_name_without_importing():
    from kernel_magics.registry.trust import ALLOWED_TYPES, TrustPolicy, never_trusted
    policy = TrustPolicy()
    assert policy.allows("sklearn.tree._tree.Tree")
    assert not policy.allows("sklearn.tree._tree.Tree2")     # no prefix trust
    assert not policy.allows("sklearn.lakebook_evil.Evil")
    assert not policy.allows("numpy.copyto")                  # functions are not on the list
    assert not policy.allows("numpy.mean")
    assert not any(never_trusted(name) for name in ALLOWED_TYPES)
    modules = set(sys.modules)
    assert not TrustPolicy.with_types(["antigravity.Fly"]).refused(["antigravity.Fly"])
    assert "antigravity" not in set(sys.modules) - modules


def _fit_defaults():
    """Every scikit-learn estimator that fits with its defaults on a small numeric problem."""
    from sklearn.utils import all_estimators
    rng = np.random.default_rng(0)
    X = rng.random((60, 3))
    y = (X[:, 0] > 0.5).astype(int)
    for kind in ("classifier", "regressor", "transformer", "cluster"):
        for name, cls in all_estimators(type_filter=kind):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est = cls().fit(X, X[:, 1] if kind == "regressor" else y)
                    data = sio.dumps(est)
            except Exception:  # needs arguments, or other data
                continue
            yield f"{kind}:{name}", data


def test_allowlist_covers_scikit_learn_estimators_but_no_function():
    """Every estimator fitted with its defaults loads without any trust, except those that
    store a function (a score_func, a pooling function): refused naming the function."""
    from kernel_magics.registry.trust import TrustPolicy
    needs_trust = {}
    checked = 0
    for name, data in _fit_defaults():
        checked += 1
        refused = TrustPolicy().refused(sio.get_untrusted_types(data=data))
        if refused:
            needs_trust[name.split(":")[1]] = refused
    assert checked > 120
    functions = {"sklearn.feature_selection._univariate_selection.f_classif", "numpy.mean",
                 "sklearn.cluster._kmeans._kmeans_single_lloyd",
                 "scipy._lib.array_api_compat.numpy._aliases.asarray"}
    assert {n for names in needs_trust.values() for n in names} <= functions, needs_trust
    assert "SelectKBest" in needs_trust


def test_trust_per_model_is_recorded_and_applies_to_every_version(lh):
    from sklearn.feature_selection import SelectKBest
    from sklearn.pipeline import make_pipeline
    X = np.random.default_rng(1).random((40, 4))
    y = (X[:, 0] > 0.5).astype(int)
    model = make_pipeline(SelectKBest(k=2), LogisticRegression()).fit(X, y)
    fn = "sklearn.feature_selection._univariate_selection.f_classif"
    with pytest.raises(InvalidInput, match=f"lh.registry.trust\\('kbest', \\['{fn}'\\]\\)"):
        lh.registry.register(model, "kbest")
    assert lh.catalog.scalar("SELECT COUNT(*) FROM model_versions") == 0
    assert lh.registry.trust("kbest", [fn], reason="our own pipeline") == [fn]
    event = lh.catalog.events("model.trusted")[0]
    assert event["subject"] == "kbest" and event["payload"]["types"] == [fn]
    assert event["payload"]["who"]
    v1 = lh.registry.register(model, "kbest")
    v2 = lh.registry.register(model, "kbest")
    for mv in (v1, v2):
        assert np.array_equal(lh.registry.get("kbest", mv.version).predict(X), model.predict(X))
    assert lh.registry.untrust("kbest", [fn]) == []
    with pytest.raises(UnsafeArtifact, match="f_classif"):
        lh.registry.get("kbest", 1).load()


def test_a_refused_load_is_a_4xx_on_the_rest_api(lh, model, world, jupyter_server):
    plant(lh, _payload(world, "numpy.memmap").data)
    lh.deploy("scorer", model="m", version=1)
    r = jupyter_server.post("deployments/scorer/predict", json={"dataframe_records": [
        {"x0": 1.0, "x1": 2.0}]})
    assert r.status_code == 422 and "numpy.memmap" in r.json()["error"], r.text
    assert not (world[0] / "pwned_memmap").exists()
    assert isinstance(UnsafeArtifact("x"), LakebookError)
