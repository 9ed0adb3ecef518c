"""The building blocks of every notebook view (theme-aware, compact): a key/value card, a
table, a badge; every value is escaped unless it is :class:`Raw` HTML built here."""
from __future__ import annotations

from html import escape
from typing import Any, Iterable

_STYLE = ("font-family: var(--jp-ui-font-family, sans-serif); font-size: 12px; "
          "color: var(--jp-ui-font-color1, inherit);")
_CELL = "padding: 2px 10px 2px 0; text-align: left; border: none;"


def card(title: str, rows: Iterable[tuple[str, Any]], subtitle: str = "") -> str:
    """A compact key/value card."""
    body = "".join(f"<tr><th style='{_CELL} font-weight:600'>{escape(str(k))}</th>"
                   f"<td style='{_CELL}'>{v if isinstance(v, Raw) else escape(str(v))}</td></tr>"
                   for k, v in rows)
    sub = f" <span style='opacity:.7'>{escape(subtitle)}</span>" if subtitle else ""
    return (f"<div style='{_STYLE} border-left: 3px solid var(--jp-brand-color1, #1976d2); "
            f"padding: 4px 10px; margin: 4px 0'><div style='font-weight:600; margin-bottom:2px'>"
            f"{escape(title)}{sub}</div><table style='border-collapse:collapse'>{body}</table></div>")


def table(columns: list[str], rows: Iterable[Iterable[Any]]) -> str:
    head = "".join(f"<th style='{_CELL}'>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(
        f"<td style='{_CELL}'>{v if isinstance(v, Raw) else escape(str(v))}</td>" for v in row)
        + "</tr>" for row in rows)
    return (f"<table style='{_STYLE} border-collapse:collapse'><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


class Raw(str):
    """HTML that must not be escaped again."""


def badge(text: str, colour: str) -> Raw:
    return Raw(f"<span style='background:{colour}; color:white; border-radius:8px; "
               f"padding:0 6px; font-size:11px'>{escape(text)}</span>")


def status_html(status: dict[str, Any]) -> str:
    """The lakehouse summary (``Lakehouse.status()``)."""
    counts = status.get("counts", {})
    rows = [("home", status["home"]), ("catalog version", status["catalog_version"])]
    rows += [(name.replace("_", " "), value) for name, value in counts.items()]
    return card("Lakebook", rows, subtitle=f"v{status.get('lakebook_version', '')}")
