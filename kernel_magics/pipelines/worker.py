"""``python -m kernel_magics.pipelines.worker --home HOME RUN_ID``: one run in its own process.

The local executor starts one per run. The run may be queued (the worker claims it) or
already claimed by a scheduler (the worker takes it over and keeps its lease alive).
"""
from __future__ import annotations

import argparse
import signal
import sys

# jsonschema (via nbformat) imports rfc3987_syntax when it is installed, which builds a
# grammar at import time (~1 s per process here); notebooks never use the "iri" format it
# checks, so a worker started per run skips it.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kernel_magics.pipelines.worker")
    parser.add_argument("--home", required=True)
    parser.add_argument("--claimed-by", default=None,
                        help="the scheduler that claimed the run for this worker")
    parser.add_argument("run_id")
    args = parser.parse_args(argv)
    from ..lakehouse import connect
    from .papermill_run import execute_run
    lh = connect(args.home, create=False)
    # SIGTERM (executor cancel, machine shutdown) ends the run as cancelled, not silently
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        final = execute_run(lh, args.run_id, claimed_by=args.claimed_by)
    except KeyboardInterrupt:
        return 130
    return 0 if final.status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
