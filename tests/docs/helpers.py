"""The merchandiser's guide and the rules reference, read as examples to run, and a project folder to run them in.

A fenced block whose first line starts with ``$ smalldata`` holds one or more commands, each
followed by what it prints. A ``yaml`` block whose first line is a comment naming a file
(``# mistakes.yaml``) is a file the reader is asked to save in the project folder; any other
``yaml`` block is a rule file that must pass ``smalldata check``.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "rules" / "README.md"
REFERENCE = ROOT / "docs" / "rules-reference.md"
DOCS = (GUIDE, REFERENCE)

#: What the example project folder holds besides the files the docs name (symlinks to the repository's).
PROJECT = ("smalldata.yaml", "rules", "examples")

FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.S | re.M)
FILE_NAME = re.compile(r"^# (?P<name>[\w.-]+\.ya?ml)\s*$")


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # of the opening fence
    info: str
    lines: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    @property
    def file_name(self) -> str | None:
        """The file a ``yaml`` block asks the reader to save (its first line is ``# NAME.yaml``)."""
        match = FILE_NAME.match(self.lines[0]) if self.info == "yaml" and self.lines else None
        return match["name"] if match else None


@dataclass(frozen=True)
class Example:
    """One ``$ smalldata …`` command of a block and the lines shown after it."""

    block: Block
    command: str
    shown: tuple[str, ...]

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.command)[2:]  # after "$ smalldata"


def blocks(doc: Path) -> list[Block]:
    text = doc.read_text(encoding="utf-8")
    return [
        Block(doc, text.count("\n", 0, m.start()) + 1, m["info"].strip(), tuple(m["body"].rstrip("\n").split("\n")))
        for m in FENCE.finditer(text)
    ]


def examples(docs: tuple[Path, ...] = DOCS) -> list[Example]:
    found = []
    for doc in docs:
        for block in blocks(doc):
            if not block.lines[0].startswith("$ smalldata"):
                continue
            command: str | None = None
            shown: list[str] = []
            for line in [*block.lines, "$"]:
                if line.startswith("$"):
                    if command is not None:
                        found.append(Example(block, command, tuple(shown)))
                    command, shown = line, []
                else:
                    shown.append(line)
    return found


def named_files(docs: tuple[Path, ...] = DOCS) -> dict[str, Block]:
    files: dict[str, Block] = {}
    for doc in docs:
        for block in blocks(doc):
            name = block.file_name
            if name is not None:
                assert name not in files, f"{block.where}: {name} is also the file of {files[name].where}"
                files[name] = block
    return files


def project(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example shop's project folder as the reader has it, plus the files the docs ask them to save.

    Links to the repository's ``smalldata.yaml``, ``rules/`` and ``examples/``, so nothing is written
    into the repository; the commands run in it with a secret key set, as a shop has one.
    """
    for name in PROJECT:
        (folder / name).symlink_to(ROOT / name)
    for name, block in named_files().items():
        (folder / name).write_text(block.text, encoding="utf-8")
    monkeypatch.chdir(folder)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the CLI puts the folder it runs in on the path
    monkeypatch.setenv("SMALLDATA_SECRET_KEYS", "the-example-shops-preview-key-0123456789")
    return folder


def run(argv: list[str]) -> tuple[int, list[str]]:
    """``smalldata ARGV``: the exit code, and what it printed (stderr, then stdout), line by line."""
    from smalldata.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse on an unknown option
            code = exc.code if isinstance(exc.code, int) else 2
    return code, [line.rstrip() for line in (err.getvalue() + out.getvalue()).rstrip().split("\n")]


def shown_matches(shown: list[str], printed: list[str]) -> bool:
    """Does the block show what was printed? A line of only ``…`` stands for any number of lines,
    a line ending in ``…`` for any line that starts with what comes before it."""

    def fits(pattern: str, line: str) -> bool:
        return line.startswith(pattern[:-1]) if pattern.endswith("…") else line == pattern

    def match(i: int, j: int) -> bool:
        if i == len(shown):
            return j == len(printed)
        if shown[i].strip() == "…":
            return any(match(i + 1, k) for k in range(j, len(printed) + 1))
        return j < len(printed) and fits(shown[i], printed[j]) and match(i + 1, j + 1)

    return match(0, 0)


def cells(doc: Path, section: str) -> Iterator[list[str]]:
    """The cells of every table row in the ``## section`` of a doc."""
    text = doc.read_text(encoding="utf-8")
    start = text.index(f"\n## {section}")
    end = text.find("\n## ", start + 1)
    for line in text[start : end if end > 0 else None].split("\n"):
        if line.startswith("| ") and not line.startswith("|---"):
            yield [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def code(cell: str) -> str | None:
    """The text of a cell that is one code span (`` `x` `` or ``` `` x `` ```), else None."""
    match = re.fullmatch(r"``\s(.*)\s``|`([^`]*)`", cell)
    return None if match is None else (match[1] if match[1] is not None else match[2])
