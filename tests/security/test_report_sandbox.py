"""Issue 24, finding 2: a monitored value must never run as script at the Jupyter origin.

The probe's value ``</script><script>…`` in a monitored column ended Evidently's data block
and ran. Lakebook now escapes that JSON when it writes the report, serves every report with
``Content-Security-Policy: sandbox allow-scripts`` and ``nosniff``, and the notebook view
opens reports only in a sandboxed frame. The browser proof (nothing read from
``/api/contents``) is in ``extension/ui-tests/sidebar.test.mjs``.
"""
from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import requests

PAYLOAD = ("</script><script>window.__lakebook_pwned=1;fetch('/api/contents')"
           "</script><!--<script>")
T0 = pd.Timestamp("2024-05-01", tz="UTC")


class Scripts(HTMLParser):
    """The text of every <script> element as a browser's parser splits them."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[str] = []
        self._in = False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._in = True
            self.blocks.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in = False

    def handle_data(self, data):
        if self._in:
            self.blocks[-1] += data


def hostile_monitor(lh):
    rng = np.random.default_rng(3)
    rows = []
    for day in range(4):
        notes = rng.choice(["ok", "fine", PAYLOAD], 200, p=[0.45, 0.45, 0.1] if day < 3
                           else [0.1, 0.1, 0.8])
        rows.append(pd.DataFrame({"id": np.arange(200), "note": notes,
                                  "ts": T0 + pd.Timedelta(days=day)
                                  + pd.to_timedelta(np.arange(200), "min")}))
    fg = lh.create_feature_group("comments", key="id", event_time="ts")
    for frame in rows:
        fg.insert(frame)
    lh.monitoring.create("notes", feature_group="comments", reference="previous 3d",
                         current="last 1d", schedule=None, columns=["note"])
    return lh.monitoring.run("notes", now=T0 + timedelta(days=4))


def test_report_data_cannot_end_its_script_block(lh):
    result = hostile_monitor(lh)
    assert result.report_html
    html = Path(result.report_html).read_text()
    assert "window.__lakebook_pwned" in html          # the value is in the report…
    parser = Scripts()
    parser.feed(html)
    # …but only inside the data block's JSON: no script element starts with it
    assert not any(b.lstrip().startswith("window.__lakebook_pwned") for b in parser.blocks)
    data_blocks = [b for b in parser.blocks if "__lakebook_pwned" in b]
    assert len(data_blocks) == 1 and data_blocks[0].lstrip().startswith("var metric_")
    assert "</script" not in data_blocks[0] and "<!--" not in data_blocks[0]


def test_reports_are_served_sandboxed(lh, jupyter_server):
    result = hostile_monitor(lh)
    url = f"{jupyter_server.url}/lakebook/api/monitors/notes/reports/{result.id}.html"
    page = requests.get(url, headers=jupyter_server.auth, timeout=30)
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert csp.startswith("sandbox allow-scripts") and "allow-same-origin" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    missing = requests.get(url.replace(f"/{result.id}.html", f"/{result.id + 50}.html"),
                           headers=jupyter_server.auth, timeout=30)
    assert missing.status_code == 404
    assert missing.headers["Content-Security-Policy"].startswith("sandbox")


def test_notebook_view_opens_reports_only_in_a_sandboxed_frame(lh):
    from kernel_magics.doors.widgets.monitor import monitor_html
    hostile_monitor(lh)
    html = monitor_html(lh, "notes")
    assert "<a " not in html                          # no plain link to the report
    assert "<iframe sandbox='allow-scripts'" in html and "allow-same-origin" not in html
    assert "data-commandlinker-command='lakebook:open-report'" in html


def test_json_lakebook_embeds_cannot_close_an_element():
    from kernel_magics.shared.script_json import json_for_html
    text = json_for_html({"v": PAYLOAD, "n": "a&b>c\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    import json
    assert json.loads(text) == {"v": PAYLOAD, "n": "a&b>c\u2028"}
