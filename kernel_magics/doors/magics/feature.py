"""The ``%%feature`` cell: run the cell as plain Python, then insert its DataFrame into a
feature group (created on first use), recording the cell's step identity as lineage."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...shared.identity import step_identity
from .cells import run_cell_code
from ...shared.errors import InvalidInput
from ...features.groups import CommitInfo

if TYPE_CHECKING:  # pragma: no cover
    from ...lakehouse import Lakehouse


def _frame(shell: Any, args: Any, value: Any) -> Any:
    if args.df:
        if args.df not in shell.user_ns:
            raise InvalidInput(f"--df {args.df}: there is no variable {args.df!r} after running "
                               "the cell.", "Name a variable the cell defines.")
        value = shell.user_ns[args.df]
    if value is None:
        raise InvalidInput(
            f"The %%feature {args.name} cell has no DataFrame to insert: its last line is not "
            "an expression.", "End the cell with the DataFrame (e.g. a line with just `df`), "
            "or pass --df VAR.")
    return value


def feature_cell(lh: "Lakehouse", shell: Any, args: Any, cell_code: str) -> CommitInfo:
    """Body of ``%%feature NAME --key K --event-time T [...]``; returns the commit's
    :class:`CommitInfo` (shown as a compact HTML summary)."""
    store = lh.features
    # bad arguments fail before the user's code runs (nothing is written either way)
    from ...features.checks import validate_checks
    from ...shared.names import validate_name
    validate_name(args.name)
    checks = validate_checks(args.check, args.name)
    embeddings = embedding_flags(args.embedding, args.name)
    value = run_cell_code(shell, cell_code)
    df = _frame(shell, args, value)
    fg = store.groups.get_or_create(
        args.name, key=args.key, event_time=args.event_time, version=args.version,
        online=args.online, description=args.description, checks=checks,
        embeddings=embeddings or None)
    _same_settings(fg, args, checks, embeddings)
    lineage = step_identity(cell_code, shell.user_ns, step=args.name)
    return fg.insert(df, mode=args.mode, evolve=args.evolve, lineage=lineage, utc=args.utc)


def embedding_flags(flags: list[str], group: str) -> dict[str, dict[str, Any]]:
    """``--embedding desc_vec:128:cosine`` flags as the ``embeddings=`` of the group."""
    from ...features.embeddings import parse_embeddings, parse_flag
    spec = dict(parse_flag(text, group) for text in flags)
    return {c: e.to_dict() for c, e in parse_embeddings(spec, group).items()}


def _same_settings(fg: Any, args: Any, checks: list[str],
                   embeddings: dict[str, dict[str, Any]]) -> None:
    """A later run of the cell must not silently disagree with the group it writes to."""
    declared = {c: e.to_dict() for c, e in fg.embeddings.items()}
    if embeddings and embeddings != declared:
        raise InvalidInput(f"Feature group {fg.name!r} version {fg.version} has embedding "
                           f"columns {declared or 'none'}, not {embeddings}.",
                           f"Use the group's embeddings, or start a new version with --version "
                           f"{fg.version + 1}.")
    if args.online and not fg.online:
        raise InvalidInput(f"Feature group {fg.name!r} version {fg.version} is offline only, "
                           "but the cell says --online.",
                           f"Drop --online, or start an online version with --version "
                           f"{fg.version + 1}.")
    if checks and checks != fg.checks:
        raise InvalidInput(f"Feature group {fg.name!r} version {fg.version} has checks "
                           f"{fg.checks}, not {checks}.",
                           f"Use the group's checks, or start a new version with --version "
                           f"{fg.version + 1}.")
