"""``%lakebook monitor ...``: the line-magic door onto ``lh.monitoring``.

    %lakebook monitor                      every monitor, latest verdict, open alerts
    %lakebook monitor NAME                 the monitor's view (verdict, drift chart, report)
    %lakebook monitor create NAME --deployment D | --feature-group G [--reference R]
              [--current "last 1d"] [--schedule @daily|none] [--drift-share 0.5]
              [--columns a,b] [--on-drift retrain] [--labels GROUP:LABEL]
              [--performance-margin 0.05]
    %lakebook monitor run NAME [--now ISO]
    %lakebook monitor alerts [NAME]
    %lakebook monitor ack ALERT_ID
"""
from __future__ import annotations

from typing import Any

from IPython.display import HTML, display

from ...shared import magic_grammar
from ...shared.errors import InvalidInput
from ...render.monitoring import acknowledged_html, alerts_html, monitors_html


def create_from_words(lh: Any, words: list[str]):
    args = magic_grammar.parse_words("monitor create", words)
    labels = None
    if args.labels:
        group, _, label = args.labels.partition(":")
        labels = {"feature_group": group, "label": label}
    schedule = None if str(args.schedule).lower() in ("none", "off", "") else args.schedule
    return lh.monitoring.create(
        args.name, deployment=args.deployment, feature_group=args.feature_group,
        reference=args.reference, current=args.current, schedule=schedule, tz=args.tz,
        drift_share=args.drift_share,
        columns=[c.strip() for c in args.columns.split(",")] if args.columns else None,
        on_drift=args.on_drift, labels=labels, performance_margin=args.performance_margin,
        replace=args.replace)


def monitor_command(lh: Any, rest_words: list[str]) -> Any:
    """Dispatch ``%lakebook monitor`` words (see the module docstring)."""
    from ..widgets.monitor import monitor_view
    if not rest_words:
        display(HTML(monitors_html(lh.monitoring.summary())
                     + alerts_html(lh.monitoring.alerts.list(acknowledged=False))))
        return None
    verb = rest_words[0]
    if verb == "create":
        monitor = create_from_words(lh, rest_words[1:])
        display(HTML(monitor._repr_html_()))
        return None
    if verb == "run":
        args = magic_grammar.parse_words("monitor run", rest_words[1:])
        result = lh.monitoring.run(args.name, now=args.now)
        display(HTML(result._repr_html_()))
        return monitor_view(lh, args.name)
    if verb == "alerts":
        display(HTML(alerts_html(lh.monitoring.alerts.list(
            rest_words[1] if len(rest_words) > 1 else None))))
        return None
    if verb in ("ack", "acknowledge"):
        if len(rest_words) != 2:
            raise InvalidInput("Usage: %lakebook monitor ack ALERT_ID.")
        alert = lh.monitoring.alerts.acknowledge(rest_words[1])
        display(HTML(acknowledged_html(alert["id"])))
        return None
    if len(rest_words) > 1:
        raise InvalidInput(f"Unknown %lakebook monitor command {verb!r}.",
                           "Use: monitor [NAME] | create NAME ... | run NAME | alerts | ack ID.")
    return monitor_view(lh, verb)
