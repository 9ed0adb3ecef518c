"""Embedding columns and nearest-neighbour search (issue 19): declared on feature groups,
checked on insert, indexed online with usearch (graph + exactly searched tail), searched
exactly in DuckDB, kept in step with upserts, rebuilt when corrupt, consistent after SIGKILL
and while readers search during inserts."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kernel_magics
from kernel_magics.shared.errors import InvalidInput

from online_fixtures import redis_server  # noqa: F401  (fixture)

TS = pd.Timestamp("2024-01-01", tz="UTC")
CATEGORIES = ["grocery", "travel", "fuel", "dining", "books"]


def clustered(n: int, dim: int, seed: int = 0, centres: int | None = None) -> np.ndarray:
    """Vectors around a few centres (real embeddings have neighbourhoods; i.i.d. random
    directions have none, and no HNSW reaches the recall target on them)."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres or max(2, n // 50), dim))
    return (c[rng.integers(0, len(c), n)] + 0.35 * rng.normal(size=(n, dim))).astype(np.float32)


def frame(vectors: np.ndarray, start: int = 0, ts=TS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(vectors)
    return pd.DataFrame({"mid": np.arange(start, start + n), "ts": ts,
                         "category": rng.choice(CATEGORIES, n),
                         "score": rng.random(n), "vec": list(vectors)})


def group(lh, dim: int, metric: str = "cosine", online: bool = True, name: str = "merchants"):
    return lh.create_feature_group(name, key="mid", event_time="ts", online=online,
                                   embeddings={"vec": {"dim": dim, "metric": metric}})


def recall(found: pd.DataFrame, truth: pd.DataFrame) -> float:
    return len(set(found["mid"]) & set(truth["mid"])) / max(1, len(truth))


# -- declaring and checking ------------------------------------------------------------------
def test_embedding_columns_are_declared_stored_and_described(lh):
    fg = group(lh, 8)
    assert {c: e.to_dict() for c, e in fg.embeddings.items()} == {
        "vec": {"dim": 8, "metric": "cosine"}}
    fg.insert(frame(clustered(30, 8)))
    back = fg.read()
    assert len(back["vec"][0]) == 8 and back["vec"][0].dtype == np.float32
    assert {"name": "vec", "type": "list<element: float>", "nullable": True} in fg.schema
    assert fg.to_dict()["embeddings"] == {"vec": {"dim": 8, "metric": "cosine"}}
    # the definition the Delta table carries keeps them (lakebook recover)
    assert fg.definition()["embeddings"] == {"vec": {"dim": 8, "metric": "cosine"}}
    again = kernel_magics.connect(lh.home).features.groups.get("merchants")
    assert again.embeddings["vec"].dim == 8


@pytest.mark.parametrize("spec, message", [
    ({"vec": {"dim": 0}}, "dim 0 is not a whole number"),
    ({"vec": {"dim": 8, "metric": "hamming"}}, "unknown metric 'hamming'"),
    ({"vec": {"dim": 8, "size": 3}}, "unknown setting"),
    ({"mid": {"dim": 8}}, "also a key"),
    ("vec", "must be a dict"),
])
def test_bad_embedding_declarations_are_refused(lh, spec, message):
    with pytest.raises(InvalidInput, match=message):
        lh.create_feature_group("m", key="mid", event_time="ts", embeddings=spec)
    assert lh.features.count()["feature_groups"] == 0


def test_bad_vectors_are_refused_naming_the_column_and_rows_and_nothing_is_written(lh):
    fg = group(lh, 4)
    good = frame(clustered(6, 4))
    fg.insert(good)
    cases = {
        "must hold 4 values per row; rows 2, 4 hold 3": [
            *good["vec"][:2], [1.0, 2, 3], good["vec"][3], [0.0, 1, 2], good["vec"][5]],
        "NaN or missing values in rows 1": [
            good["vec"][0], [1.0, float("nan"), 0, 0], *good["vec"][2:]],
        "NaN or infinite values in rows 3": [
            *good["vec"][:3], [1.0, float("inf"), 0, 0], *good["vec"][4:]],
        "not lists of numbers": ["a", "b", "c", "d", "e", "f"],
        "lists of string, not numbers": [["a"] * 4] * 6,
    }
    for message, vectors in cases.items():
        bad = good.assign(mid=good["mid"] + 100, vec=vectors)
        with pytest.raises(InvalidInput, match=f"'vec'.*{message}"):
            fg.insert(bad)
    with pytest.raises(InvalidInput, match="no embedding column 'vec'"):
        fg.insert(good.drop(columns="vec"))
    assert len(fg.read()) == 6 and fg.delta_version() == 0
    assert lh.online_store.count(fg.online_table) == 6
    lh.similarity.get(fg, "vec").wait()  # the graph is built in the background
    assert fg.index_status()[0]["indexed"] == 6


def test_null_vectors_are_stored_but_never_returned(lh):
    fg = group(lh, 4)
    df = frame(clustered(20, 4))
    df.loc[3, "vec"] = None
    fg.insert(df)
    for exact in (False, True):
        found = fg.find_neighbors(df["vec"][0], k=20, exact=exact)
        assert len(found) == 19 and 3 not in set(found["mid"])


def test_the_feature_magic_declares_embeddings(ipython_shell, home):
    cell = textwrap.dedent("""
        import numpy as np, pandas as pd
        rng = np.random.default_rng(1)
        df = pd.DataFrame({"mid": range(40), "ts": pd.Timestamp("2024-01-01", tz="UTC"),
                           "vec": list(rng.normal(size=(40, 6)).astype("float32"))})
        df
    """)
    info = ipython_shell.run_cell_magic(
        "feature", "merchants --key mid --event-time ts --online --embedding vec:6:l2", cell)
    assert info.rows == 40
    fg = kernel_magics.connect(home).features.groups.get("merchants")
    assert fg.embeddings["vec"].metric == "l2" and fg.embeddings["vec"].dim == 6
    from IPython.core.error import UsageError
    with pytest.raises(UsageError, match="has embedding columns"):
        ipython_shell.run_cell_magic(
            "feature", "merchants --key mid --event-time ts --online --embedding vec:6:dot",
            cell)
    with pytest.raises(UsageError, match="COLUMN:DIM"):
        ipython_shell.run_cell_magic("feature", "m2 --key mid --event-time ts --embedding vec",
                                     cell)


# -- answers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["cosine", "l2", "dot"])
def test_online_answers_match_the_exact_duckdb_search(lh, metric):
    fg = group(lh, 16, metric)
    vectors = clustered(3000, 16)
    fg.insert(frame(vectors))
    queries = clustered(40, 16, seed=7)
    recalls = []
    for q in queries:
        online = fg.find_neighbors(q, k=10)
        exact = fg.find_neighbors(q, k=10, exact=True)
        assert len(online) == 10 and list(online.columns)[-1] == "distance"
        assert (np.diff(online["distance"]) >= -1e-9).all()  # nearest first
        recalls.append(recall(online, exact))
        # a row found by both has the same distance (exact re-scoring, float32 in DuckDB)
        both = online.merge(exact, on="mid", suffixes=("_o", "_e"))
        assert np.allclose(both["distance_o"], both["distance_e"], rtol=1e-4, atol=1e-4)
    assert np.mean(recalls) >= 0.95


def test_filters_apply_before_the_top_k_is_cut(lh):
    fg = group(lh, 8)
    vectors = clustered(2000, 8)
    df = frame(vectors)
    df["category"] = np.where(np.arange(2000) % 200 == 0, "rare", df["category"])  # 10 rows
    fg.insert(df)
    for q in clustered(10, 8, seed=3):
        common = fg.find_neighbors(q, k=10, filter="category = 'grocery'")
        assert len(common) == 10 and set(common["category"]) == {"grocery"}
        truth = fg.find_neighbors(q, k=10, filter="category = 'grocery'", exact=True)
        assert recall(common, truth) >= 0.9
        rare = fg.find_neighbors(q, k=10, filter="category = 'rare'")
        assert sorted(rare["mid"]) == list(range(0, 2000, 200))  # all 10, though far away
    assert len(fg.find_neighbors(vectors[0], k=10, filter="category = 'none'")) == 0
    with pytest.raises(InvalidInput, match="filter .*cannot run.*merchants"):
        fg.find_neighbors(vectors[0], filter="colour = 'red'")
    with pytest.raises(InvalidInput, match="Filter"):
        fg.find_neighbors(vectors[0], filter="1; DROP TABLE x")


def test_query_mistakes_are_clear(lh):
    fg = group(lh, 4)
    fg.insert(frame(clustered(10, 4)))
    with pytest.raises(InvalidInput, match="shape \\[3\\].*4 values"):
        fg.find_neighbors([1, 2, 3])
    with pytest.raises(InvalidInput, match="NaN"):
        fg.find_neighbors([1, 2, 3, float("nan")])
    with pytest.raises(InvalidInput, match="k=0"):
        fg.find_neighbors([1, 2, 3, 4], k=0)
    with pytest.raises(InvalidInput, match="no embedding column 'x'"):
        fg.find_neighbors([1, 2, 3, 4], col="x")
    offline = group(lh, 4, online=False, name="offline_m")
    offline.insert(frame(clustered(10, 4)))
    with pytest.raises(InvalidInput, match="not online.*exact=True"):
        offline.find_neighbors([1, 2, 3, 4])
    assert len(offline.find_neighbors([1, 2, 3, 4], k=3, exact=True)) == 3


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(n=st.integers(200, 1500), dim=st.sampled_from([4, 8, 24]),
       metric=st.sampled_from(["cosine", "l2", "dot"]), seed=st.integers(0, 10_000),
       merged=st.booleans())
def test_ann_agrees_with_exact_on_small_random_sets(tmp_path_factory, n, dim, metric, seed,
                                                    merged):
    lh = kernel_magics.connect(tmp_path_factory.mktemp("h"))
    fg = group(lh, dim, metric)
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    half = n // 2
    fg.insert(frame(vectors[:half]))
    fg.insert(frame(vectors[half:], start=half))  # in the tail until merged
    if merged:
        fg.build_index()
    recalls = []
    for q in rng.normal(size=(8, dim)).astype(np.float32):
        recalls.append(recall(fg.find_neighbors(q, k=10), fg.find_neighbors(q, k=10,
                                                                             exact=True)))
    assert np.mean(recalls) >= 0.9
    # a well-separated point: a query right at a stored vector finds it first
    target = int(rng.integers(0, n))
    far = vectors[target] * (1.0 if metric != "dot" else 1.0)
    if metric == "dot":  # with dot, the nearest is the largest projection: make it that
        fg.insert(frame(far[None, :] * 50, start=n))
        target = n
    top = fg.find_neighbors(far if metric != "dot" else far * 50, k=1)
    assert int(top["mid"][0]) == target


# -- in step with the online store ----------------------------------------------------------
def test_an_upserted_keys_old_vector_is_never_returned(lh):
    fg = group(lh, 8)
    vectors = clustered(1000, 8)
    fg.insert(frame(vectors))
    fg.build_index()
    old = vectors[10]
    moved = -old  # far away from where it was
    for round_ in range(2):  # in the tail, then merged into the graph
        later = TS + pd.Timedelta(hours=1)
        fg.insert(frame(moved[None, :], start=10, ts=later), mode="upsert")
        near_old = fg.find_neighbors(old, k=20)
        assert 10 not in set(near_old["mid"])
        near_new = fg.find_neighbors(moved, k=1)
        assert int(near_new["mid"][0]) == 10 and near_new["distance"][0] < 1e-5
        assert lh.online_store.get_one(fg.online_table, ["mid"], (10,))["vec"] == \
            pytest.approx(moved.tolist())
        assert fg.verify_index() == {"missing": 0, "stale": 0, "extra": 0}
        fg.build_index()
        assert fg.verify_index() == {"missing": 0, "stale": 0, "extra": 0}
    # an older event time does not replace the online row, nor the indexed vector
    fg.insert(frame(old[None, :], start=10, ts=TS - pd.Timedelta(days=1)))
    assert 10 not in set(fg.find_neighbors(old, k=20)["mid"])
    fg.build_index()
    assert 10 not in set(fg.find_neighbors(old, k=20)["mid"])
    # another process sees the same
    script = textwrap.dedent(f"""
        import json, numpy as np, kernel_magics
        fg = kernel_magics.connect({str(lh.home)!r}).features.groups.get("merchants")
        print(json.dumps(fg.find_neighbors(np.array({old.tolist()}), k=20)["mid"].tolist()))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True)
    assert 10 not in json.loads(out.stdout.strip().splitlines()[-1])


def test_neighbours_of_a_key_and_of_a_view(lh):
    fg = group(lh, 8)
    vectors = clustered(500, 8)
    fg.insert(frame(vectors))
    like = fg.neighbors_of(7, k=5)
    assert len(like) == 5 and 7 not in set(like["mid"])
    exact = fg.find_neighbors(vectors[7], k=6, exact=True)
    assert set(like["mid"]) <= set(exact["mid"]) | set(fg.find_neighbors(vectors[7], k=6)["mid"])
    labels = lh.create_feature_group("labels", key="mid", event_time="ts")
    labels.insert(pd.DataFrame({"mid": range(500), "ts": TS + pd.Timedelta(days=1),
                                "is_fraud": [i % 7 == 0 for i in range(500)]}))
    fv = lh.create_feature_view("merchant_view", spine=labels, join=[fg], label="is_fraud")
    near = fv.find_neighbors(vectors[3], k=4)
    assert list(near.columns) == ["mid", "category", "score", "vec", "_found", "distance"]
    assert int(near["mid"][0]) == 3 and near["_found"].all()
    batch = fv.batch_neighbors(pd.DataFrame({"vec": list(vectors[:3])}), k=4)
    assert len(batch) == 12 and batch.groupby("query")["rank"].apply(list).tolist() == \
        [[0, 1, 2, 3]] * 3
    assert batch[batch["rank"] == 0]["mid"].tolist() == [0, 1, 2]
    for i in range(3):
        assert set(batch[batch["query"] == i]["mid"]) == set(
            fg.find_neighbors(vectors[i], k=4, exact=True)["mid"])
    filtered = fv.batch_neighbors([vectors[0]], k=3, filter="category = 'fuel'")
    assert set(filtered["category"]) == {"fuel"}


def test_the_redis_backend_keeps_the_index_beside_it(home, redis_server):  # noqa: F811
    home.mkdir(parents=True, exist_ok=True)
    (home / "lakebook.toml").write_text(
        f'[online]\nbackend = "redis"\nredis_url = "{redis_server.url}"\n')
    lh = kernel_magics.connect(home)
    assert lh.online_store.backend == "redis"
    fg = group(lh, 8)
    vectors = clustered(800, 8)
    fg.insert(frame(vectors))
    found = fg.find_neighbors(vectors[5], k=10)
    assert int(found["mid"][0]) == 5 and recall(found, fg.find_neighbors(
        vectors[5], k=10, exact=True)) >= 0.9
    lh.similarity.get(fg, "vec").wait()  # the graph is built in the background
    assert (home / "indexes" / "merchants_v1" / "vec" / "manifest.json").exists()


# -- the index is a cache of the Delta table -----------------------------------------------
def _graph_file(lh) -> Path:
    fg = lh.features.groups.get("merchants")
    lh.similarity.get(fg, "vec").wait()  # built in the background
    folder = lh.home / "indexes" / "merchants_v1" / "vec"
    manifest = json.loads((folder / "manifest.json").read_text())
    return folder / manifest["graph"]


def test_a_corrupt_or_missing_index_is_rebuilt_from_the_delta_table(home):
    lh = kernel_magics.connect(home)
    fg = group(lh, 8)
    vectors = clustered(1500, 8)
    fg.insert(frame(vectors))
    exact = fg.find_neighbors(vectors[4], k=10, exact=True)

    def answers_like_the_table(group) -> bool:
        # a rebuilt HNSW graph (multi-threaded build) may differ in its approximate tail
        found = group.find_neighbors(vectors[4], k=10)
        return int(found["mid"][0]) == 4 and recall(found, exact) >= 0.9
    fg.build_index()  # the insert's background merge has saved its graph: corrupt that one
    graph = _graph_file(lh)
    data = bytearray(graph.read_bytes())
    middle = len(data) // 2
    # flipped bytes (usearch itself would load them)
    data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])
    graph.write_bytes(bytes(data))
    lh2 = kernel_magics.connect(home)
    fg2 = lh2.features.groups.get("merchants")
    assert answers_like_the_table(fg2)
    assert "checksum" in fg2.index_status()[0]["rebuilt"]
    lh2.similarity.get(fg2, "vec").wait()  # rebuilt in the background
    # a manifest cut short, then no index at all
    (graph.parent / "manifest.json").write_text("{\"format\": 1, \"dim")
    lh3 = kernel_magics.connect(home)
    fg3 = lh3.features.groups.get("merchants")
    assert answers_like_the_table(fg3)
    assert "unreadable" in fg3.index_status()[0]["rebuilt"]
    lh3.similarity.get(fg3, "vec").wait()  # its background build writes into the folder
    import shutil
    shutil.rmtree(lh.home / "indexes")
    fg4 = kernel_magics.connect(home).features.groups.get("merchants")
    assert answers_like_the_table(fg4)
    assert fg4.rebuild_index()["indexed"] == 1500
    assert fg4.verify_index() == {"missing": 0, "stale": 0, "extra": 0}


WRITER = textwrap.dedent("""
    import sys, numpy as np, pandas as pd, kernel_magics
    lh = kernel_magics.connect(sys.argv[1])
    fg = lh.features.groups.get("merchants")
    rng = np.random.default_rng(int(sys.argv[2]))
    print("ready", flush=True)
    i = 0
    while True:
        keys = rng.integers(0, 3000, 200)
        keys = np.unique(keys)
        df = pd.DataFrame({"mid": keys, "ts": pd.Timestamp("2024-01-02", tz="UTC")
                           + pd.Timedelta(seconds=i),
                           "category": "fuel", "score": 0.5,
                           "vec": list(rng.normal(size=(len(keys), 8)).astype("float32"))})
        fg.insert(df, mode="upsert")
        if i % 3 == 2:
            fg.build_index()
        i += 1
""")


def _consistent(fg, rng) -> None:
    """The index answers as the Delta table does: the latest vector of every key."""
    table = fg.read()
    latest = table.sort_values("ts").groupby("mid").tail(1).set_index("mid")
    fg.find_neighbors(np.ones(8), k=1)  # opens the index in this process
    status = fg.index_status()[0]
    assert status["delta_version"] == fg.delta_version()
    assert fg.verify_index() == {"missing": 0, "stale": 0, "extra": 0}
    for q in rng.normal(size=(10, 8)).astype(np.float32):
        online = fg.find_neighbors(q, k=10)
        exact = fg.find_neighbors(q, k=10, exact=True)
        assert recall(online, exact) >= 0.8
        for row in online.itertuples():
            assert np.allclose(row.vec, latest.loc[row.mid, "vec"])
        # the key nearest by the table is found
        assert int(exact["mid"][0]) in set(online["mid"])


def test_a_sigkilled_writer_leaves_an_index_that_matches_the_table(home):
    lh = kernel_magics.connect(home)
    fg = group(lh, 8)
    fg.insert(frame(clustered(3000, 8)))
    for seed, delay in ((1, 2.5), (2, 4.0)):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(home), str(seed)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        fresh = kernel_magics.connect(home).features.groups.get("merchants")
        _consistent(fresh, np.random.default_rng(seed))
        assert lh.online_store.count(fresh.online_table) == 3000


def test_readers_search_while_another_process_and_a_thread_insert(home):
    lh = kernel_magics.connect(home)
    fg = group(lh, 8)
    fg.insert(frame(clustered(3000, 8)))
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(home), "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    errors: list[BaseException] = []
    answers = [0]
    stop = threading.Event()

    def reader(seed: int) -> None:
        rng = np.random.default_rng(seed)
        reader_fg = kernel_magics.connect(home).features.groups.get("merchants")
        try:
            while not stop.is_set():
                found = reader_fg.find_neighbors(rng.normal(size=8), k=10)
                assert len(found) == 10 and found["mid"].is_unique
                assert (np.diff(found["distance"]) >= -1e-9).all()
                answers[0] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def writer() -> None:
        rng = np.random.default_rng(9)
        try:
            for i in range(6):
                fg.insert(frame(rng.normal(size=(300, 8)).astype(np.float32), start=3000,
                                ts=TS + pd.Timedelta(days=2, seconds=i)), mode="upsert")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    try:
        assert proc.stdout.readline().strip() == "ready"
        threads = [threading.Thread(target=reader, args=(s,)) for s in (1, 2)]
        threads.append(threading.Thread(target=writer))
        for t in threads:
            t.start()
        threads[-1].join(120)
        # the readers go on until they made 20 searches in all (most of them during the
        # writes), however slow the machine is
        deadline = time.monotonic() + 60
        while answers[0] < 20 and not errors and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
        proc.kill()
        proc.wait(30)
    assert not errors, errors
    assert answers[0] >= 20, answers
    _consistent(kernel_magics.connect(home).features.groups.get("merchants"),
                np.random.default_rng(3))


def test_verify_sees_an_index_that_drifted_from_the_table(lh):
    fg = group(lh, 8)
    fg.insert(frame(clustered(200, 8)))
    assert fg.verify_index() == {"missing": 0, "stale": 0, "extra": 0}
    index = lh.similarity.get(fg, "vec")
    index.wait()  # the graph is built in the background
    from kernel_magics.similarity.index import key_ids
    index._graph.remove(key_ids(['[5]'])[0])
    assert fg.verify_index()["missing"] == 1


def test_a_filter_sees_the_latest_rows_after_each_insert(lh):
    fg = group(lh, 8)
    vectors = clustered(1200, 8)
    fg.insert(frame(vectors).assign(category="common"))
    assert len(fg.find_neighbors(vectors[0], k=5, filter="category = 'moved'")) == 0
    moved = frame(vectors[:300]).assign(category="moved", ts=TS + pd.Timedelta(hours=1))
    fg.insert(moved, mode="upsert")  # 300 keys now match (more than the exact-subset size)
    found = fg.find_neighbors(vectors[0], k=5, filter="category = 'moved'")
    assert len(found) == 5 and set(found["category"]) == {"moved"} and found["mid"].max() < 300
    back = frame(vectors[:300]).assign(category="common", ts=TS + pd.Timedelta(hours=2))
    fg.insert(back, mode="upsert")
    assert len(fg.find_neighbors(vectors[0], k=5, filter="category = 'moved'")) == 0


# -- on team storage ---------------------------------------------------------------------------
def test_on_team_storage_the_index_lives_beside_the_table(pg_cluster, moto_s3, team_redis,
                                                          tmp_path):
    """The index files and manifest are kept on S3 beside the group's table (a local cache in
    each home); a second home sharing the catalog and storage loads them without rebuilding
    and follows the first home's inserts and deletes; a corrupt shared file is rebuilt."""
    import redis

    from kernel_magics.similarity.index import POLL_S
    redis.Redis.from_url(team_redis.url).flushdb()
    toml = (f'[catalog]\nurl = "{pg_cluster.new_database()}"\n'
            + moto_s3.toml(moto_s3.new_prefix())
            + f'[online]\nbackend = "redis"\nredis_url = "{team_redis.url}"\n')
    homes = []
    for name in ("ann", "bob", "cat"):
        home = tmp_path / name
        home.mkdir()
        (home / "lakebook.toml").write_text(toml)
        homes.append(home)
    ann = kernel_magics.connect(homes[0])
    fg = group(ann, 8)
    vectors = clustered(600, 8)
    fg.insert(frame(vectors))
    status = fg.build_index()
    assert status["state"] == "ready" and status["indexed"] == 600
    shared = ann.storage.location("indexes/merchants_v1/vec")
    names = shared.names()
    assert "manifest.json" in names
    assert any(n.startswith("graph-") for n in names) and any(n.startswith("keys-")
                                                              for n in names)
    manifest = json.loads((shared / "manifest.json").read_text())
    assert manifest["delta_version"] == fg.delta_version() and manifest["rows"] == 600

    bob = kernel_magics.connect(homes[1])
    fg_b = bob.features.groups.get("merchants")
    assert fg_b.index_status()[0]["state"] == "saved"  # seen on the storage before opening
    found = fg_b.find_neighbors(vectors[3], k=5)
    index_b = bob.similarity.get(fg_b, "vec")
    assert index_b.rebuilt is None and index_b.loaded_from == "storage"
    assert int(found["mid"][0]) == 3
    assert fg_b.verify_index() == {"missing": 0, "stale": 0, "extra": 0}
    # ann's later insert and delete reach bob (within one poll of the storage)
    far = -vectors[0] * 3
    fg.insert(frame(far[None, :], start=5000, ts=TS + pd.Timedelta(hours=1)))
    fg.delete_rows(keys=[3])
    time.sleep(POLL_S + 0.1)
    assert int(fg_b.find_neighbors(far, k=1)["mid"][0]) == 5000
    assert 3 not in set(fg_b.find_neighbors(vectors[3], k=20)["mid"])
    assert fg_b.verify_index() == {"missing": 0, "stale": 0, "extra": 0}
    # a corrupt graph on the storage is rebuilt (and the rebuilt index published)
    bad = shared / manifest["graph"]
    fg_b.build_index()
    manifest = json.loads((shared / "manifest.json").read_text())
    assert manifest["rows"] == 600  # 600 - key 3 + key 5000
    (shared / manifest["graph"]).write_bytes(b"\0" * 1024)
    assert not bad.exists()  # the replaced index's files were removed
    cat = kernel_magics.connect(homes[2])
    fg_c = cat.features.groups.get("merchants")
    assert int(fg_c.find_neighbors(far, k=1)["mid"][0]) == 5000
    index_c = cat.similarity.get(fg_c, "vec")
    assert "checksum" in (index_c.rebuilt or "")
    index_c.wait()  # the graph is rebuilt in the background, then published
    republished = json.loads((shared / "manifest.json").read_text())
    assert republished["graph"] != manifest["graph"]
    assert fg_c.verify_index() == {"missing": 0, "stale": 0, "extra": 0}


def test_an_insert_never_waits_for_the_graph_build(lh, monkeypatch):
    """The first insert returns before the graph is built (in the background, in a graph
    of its own); searches meanwhile answer from the exactly searched tail; a key deleted
    while the build runs is never returned, in the built graph either."""
    from kernel_magics.similarity.index import VectorIndex
    release = threading.Event()
    started = threading.Event()
    real_add = VectorIndex._add

    def slow_add(self, graph, entries, present):
        started.set()
        assert release.wait(60)
        return real_add(self, graph, entries, present)

    monkeypatch.setattr(VectorIndex, "_add", slow_add)
    fg = group(lh, 8)
    vectors = clustered(800, 8)
    fg.insert(frame(vectors))  # returns although the build cannot finish yet
    assert started.wait(60)
    status = fg.index_status()[0]
    assert status["state"] == "building" and status["pending"] == 800 and status["indexed"] == 0
    assert int(fg.find_neighbors(vectors[12], k=1)["mid"][0]) == 12
    fg.delete_rows(keys=[12])
    assert 12 not in set(fg.find_neighbors(vectors[12], k=10)["mid"])
    release.set()
    index = lh.similarity.get(fg, "vec")
    index.wait()
    status = fg.index_status()[0]
    assert status["state"] == "ready" and status["indexed"] == 799
    assert 12 not in set(fg.find_neighbors(vectors[12], k=10)["mid"])
    assert fg.verify_index() == {"missing": 0, "stale": 0, "extra": 0}
