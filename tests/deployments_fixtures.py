"""Helpers for the deployment tests: a small registered model and a real ``lakebook serve``
subprocess on a free loopback port."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import requests
from sklearn.linear_model import LogisticRegression

from conftest import free_port, lakebook_script


def training_frame(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = ((X["a"] + X["b"]) > 0).astype(int)
    return X, y


def register_clf(lh, name: str = "clf", flip: bool = False, alias: str | None = "production"):
    """Register a LogisticRegression on columns a, b (``flip``: trained on inverted labels, so
    its predictions differ from the unflipped one's) and point ``alias`` at it."""
    X, y = training_frame()
    model = LogisticRegression().fit(X, 1 - y if flip else y)
    mv = lh.registry.register(model, name, input_example=X.head(5))
    if alias:
        lh.registry.set_alias(name, alias, mv.version)
    return mv, model


def write_config(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "lakebook.toml").write_text(text)


class ServeProcess:
    """``lakebook serve`` through the installed script, as a user starts it."""

    def __init__(self, home: Path, args: list[str] | None = None, port: int | None = None,
                 token: str | None = None, wait: bool = True) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = token
        cmd = [lakebook_script(), "serve", "--port", str(self.port), *(args or [])]
        if token:
            cmd += ["--token", token]
        self.log_path = home.parent / f"serve-{self.port}.log"
        self._log = self.log_path.open("w")
        env = {**os.environ, "LAKEBOOK_HOME": str(home)}
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"lakebook serve exited: {self.output()}")
            try:
                if requests.get(self.url + "/health", timeout=2).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"lakebook serve did not start: {self.output()}")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def post(self, path: str, **kw) -> requests.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        return requests.post(self.url + path, headers=headers, timeout=30, **kw)

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url + path, headers=self.headers, timeout=30, **kw)

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM (a clean stop) and the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout)
        self._log.close()
        return self.proc.returncode

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if not self._log.closed:
            self._log.close()


def fraud_lakehouse(lh, entities: int = 50, rows: int = 400):
    """An online feature group ``tx`` (key cc_num, event time ts, features amount/velocity,
    label is_fraud), view ``tx_view``, a LogisticRegression ``fraud`` v1 trained on it with
    alias production. Returns (group, view, model, frame)."""
    rng = np.random.default_rng(7)
    df = pd.DataFrame({
        "cc_num": np.arange(rows) % entities,
        "ts": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(rows), "h"),
        "amount": rng.gamma(2.0, 30.0, rows), "velocity": rng.normal(size=rows)})
    df["is_fraud"] = ((df.amount > 70) & (df.velocity > 0)).astype(int)
    fg = lh.create_feature_group("tx", key="cc_num", event_time="ts", online=True)
    fg.insert(df)
    fv = lh.create_feature_view("tx_view", spine=fg, label="is_fraud")
    X_train, X_test, y_train, y_test = fv.train_test_split()
    model = LogisticRegression(max_iter=500).fit(X_train, y_train)
    mv = lh.registry.register(model, "fraud", view=fv, input_example=X_train.head(5))
    lh.registry.set_alias("fraud", "production", mv.version)
    return fg, fv, model, df


def latest_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The newest row per cc_num (what the online store holds)."""
    return df.sort_values("ts").groupby("cc_num").tail(1).set_index("cc_num")
