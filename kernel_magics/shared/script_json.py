"""JSON that Lakebook puts inside HTML, made unable to end the element it sits in.

``json.dumps`` leaves ``<``, ``>`` and ``&`` as they are, so a value such as
``</script><script>…`` closes a ``<script>`` block and starts the attacker's. Written as
``\\u003c``, ``\\u003e`` and ``\\u0026`` (and the two JavaScript line separators escaped) the
text means the same to JSON and JavaScript and nothing to the HTML parser.
"""
from __future__ import annotations

import json
from typing import Any

_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
            "\u2029": "\\u2029"}
_TABLE = str.maketrans(_ESCAPES)


def script_safe(json_text: str) -> str:
    """``json_text`` (JSON, or JavaScript made of JSON values) safe inside ``<script>`` or an
    HTML attribute's JSON. Only valid where those characters sit inside string literals,
    which is everywhere in JSON."""
    return json_text.translate(_TABLE)


def json_for_html(value: Any) -> str:
    """``json.dumps(value)`` made :func:`script_safe`."""
    return script_safe(json.dumps(value, default=str))
