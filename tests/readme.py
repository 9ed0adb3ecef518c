"""The README read as the tests' script: its sections, code blocks and command lines.

The README tests (``test_readme_*.py``) take what they run from here, so a change to the
README is a change to what is tested.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
PLACEHOLDER = re.compile(r"^[A-Z][A-Z_]*$")


def section(title: str, text: str | None = None) -> str:
    """The body of the ``## title`` section."""
    text = README.read_text() if text is None else text
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    if match is None:
        raise AssertionError(f"README has no section {title!r}")
    return match.group(1)


def code_blocks(title: str, lang: str | None = None) -> list[str]:
    """The fenced code blocks of a section (``lang``: only those marked so)."""
    out = []
    for block_lang, body in re.findall(r"^```(\w*)\n(.*?)^```", section(title), re.M | re.S):
        if lang is None or block_lang == lang:
            out.append(body)
    return out


@dataclass(frozen=True)
class Command:
    """One command of the "Command line" block, e.g. ``lakebook monitor run NAME``."""

    usage: str               # as the README writes it (without "lakebook")

    @property
    def tokens(self) -> list[str]:
        return self.usage.replace("[", " ").replace("]", " ").split()

    @property
    def key(self) -> str:
        """The subcommand words (``monitor run``), or ``--version``."""
        words = []
        for token in self.tokens:
            if token.startswith("-") or PLACEHOLDER.match(token):
                break
            words.append(token)
        return " ".join(words) or self.tokens[0]

    @property
    def options(self) -> list[str]:
        return [t for t in self.tokens if t.startswith("-")]

    def argv(self, values: dict[str, list[str]]) -> list[str]:
        """The command with every optional part included and each placeholder replaced by the
        next of its ``values`` (``T`` twice: start, then end); ``...`` (repeatable) dropped."""
        queue = {k: list(v) for k, v in values.items()}
        out = []
        for token in self.tokens:
            if token == "...":
                continue
            if PLACEHOLDER.match(token):
                if not queue.get(token):
                    raise AssertionError(f"README command `lakebook {self.usage}` has a "
                                         f"placeholder {token} the test has no value for")
                token = queue[token].pop(0)
            out.append(token)
        return out


def _split_alternatives(line: str) -> list[str]:
    """``a | b`` at the top level (not inside ``[...]``)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(line):
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "|" and depth == 0:
            parts.append(line[start:i].strip())
            start = i + 1
    parts.append(line[start:].strip())
    return parts


def cli_commands() -> list[Command]:
    """Every command of the "Command line" block (``lakebook monitor list | run NAME |
    alerts`` is three; ``lakebook runs | lakebook schedules`` two)."""
    [block] = code_blocks("Command line")
    commands = []
    for raw in block.splitlines():
        line = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
        if not line:
            continue
        prefix = ""
        for part in _split_alternatives(line):
            if part.startswith("lakebook "):
                usage = part[len("lakebook "):].strip()
                prefix = usage.split()[0]
            else:
                usage = f"{prefix} {part}"
            commands.append(Command(usage))
    return commands
