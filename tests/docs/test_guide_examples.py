"""Every command in the merchandiser's guide (rules/README.md) and the rules reference (docs/rules-reference.md)
runs as written and prints what the docs show; every rule file they show passes ``smalldata check``.

A block whose first line starts with ``$ smalldata`` is run through the CLI in the example shop's
project folder (see :func:`helpers.project`), and what it prints (stderr, then stdout) must be the
block's lines after the command, up to trailing spaces. Two things a run cannot repeat are read
loosely, and the docs say so where they use them: a line of only ``…`` stands for lines left out,
and a line ending in ``…`` for the rest of that line (a preview link's signature and expiry, a
version hash); and the seconds ``smalldata test`` took. A command may fail (exit 1 or 2) when the
docs show its error. Commands that start a server or run for minutes are not run: they are
``NOT_RUN``, and the test reports their blocks as skipped.
"""

from __future__ import annotations

import re
import runpy
import shlex
from pathlib import Path

import pytest

from smalldata.signals.catalog import SIGNALS
from tests.docs.helpers import (
    DOCS,
    GUIDE,
    REFERENCE,
    ROOT,
    Block,
    Example,
    blocks,
    cells,
    code,
    examples,
    project,
    run,
    shown_matches,
)

#: Commands the test does not run, and why (a block starting with one is skipped, and says so).
NOT_RUN = {
    "demo": "starts the example shop and serves until stopped",
    "console": "starts the browser console and serves until stopped",
    "bench": "runs the benchmarks for minutes",
}

#: Files the docs tell the reader how to make with a script of the repository, and the script.
MADE_BY_SCRIPT = {
    "GeoLite2-City.mmdb": "scripts/geoip_test_database.py",
    "smalldata-events.jsonl": "scripts/example_events.py",
}

SECONDS = re.compile(r"(?<= in )\d+\.\d\ds(?= =+$)")


def make_files(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """The files a command names that the docs say how to make, made as they say."""
    for name, script in MADE_BY_SCRIPT.items():
        if name in argv:
            runpy.run_path(str(ROOT / script))["main"](name)
            capsys.readouterr()


def _param(example: Example) -> object:
    verb = example.argv[0] if example.argv else ""
    marks = [pytest.mark.skip(reason=f"smalldata {verb} {NOT_RUN[verb]}")] if verb in NOT_RUN else []
    return pytest.param(example, id=f"{example.block.where} {example.command[2:]}", marks=marks)


@pytest.mark.parametrize("example", [_param(e) for e in examples()])
def test_the_command_prints_what_the_docs_show(
    example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, monkeypatch)
    make_files(example.argv, capsys)
    code, printed = run(example.argv)
    shown = [line.rstrip() for line in example.shown]
    while shown and not shown[-1]:
        shown.pop()
    printed = [SECONDS.sub("N.NNs", line) for line in printed]
    shown = [SECONDS.sub("N.NNs", line) for line in shown]
    if not shown_matches(shown, printed):
        assert "\n".join(printed) == "\n".join(shown), f"{example.block.where}: {example.command} (exit {code})"


def test_the_docs_show_commands_the_test_runs() -> None:
    assert len([e for e in examples() if e.argv[0] not in NOT_RUN]) >= 20


def test_the_guide_shows_each_step_of_the_daily_loop() -> None:
    verbs = {example.argv[0] for example in examples((GUIDE,))}
    assert {"check", "try", "test", "preview"} <= verbs


@pytest.mark.parametrize(
    "block",
    [pytest.param(b, id=b.where) for doc in DOCS for b in blocks(doc) if b.info == "yaml" and b.file_name is None],
)
def test_every_rule_file_the_docs_show_passes_check_and_its_tests(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(tmp_path, monkeypatch)
    (tmp_path / "example.yaml").write_text(block.text, encoding="utf-8")
    code, printed = run(["check", "example.yaml"])
    assert (code, len(printed)) == (0, 1), "\n".join(printed)
    assert printed[0].endswith("0 warnings; version " + printed[0].rsplit(" ", 1)[1])
    if "\ntests:" in block.text:
        code, printed = run(["test", "example.yaml"])
        assert code == 0, "\n".join(printed)


README_COMMANDS = [
    line for block in blocks(ROOT / "README.md") if block.info == "bash" for line in block.lines
    if line.startswith("smalldata ")
]


@pytest.mark.parametrize("line", README_COMMANDS)
def test_the_readmes_commands_run(
    line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = shlex.split(line, comments=True)[1:]
    if argv[0] in NOT_RUN:
        pytest.skip(f"smalldata {argv[0]} {NOT_RUN[argv[0]]}")
    project(tmp_path, monkeypatch)
    make_files(argv, capsys)
    code, printed = run(argv)
    assert code == 0, "\n".join(printed)


KIND_WORDS = {
    "bool": "yes/no", "number": "number", "text": "text", "datetime": "time stamp", "date": "date",
    "list": "list", "map": "mapping", "records": "records",
}


def test_the_reference_lists_every_signal_with_its_kind() -> None:
    listed = {}
    for row in cells(REFERENCE, "3. Every signal"):
        name = code(row[0])
        if name is not None and "." in name and len(row) == 4:
            listed[name] = row[2]
    assert sorted(listed) == sorted(SIGNALS)
    for name, kind in listed.items():
        assert kind.startswith(KIND_WORDS[SIGNALS[name].kind]), name


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("doc", [*DOCS, ROOT / "README.md"], ids=lambda doc: str(doc.relative_to(ROOT)))
def test_every_link_between_the_docs_points_at_a_file_and_heading(doc: Path) -> None:
    text = re.sub(r"^```.*?^```", "", doc.read_text(encoding="utf-8"), flags=re.S | re.M)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        assert file.exists(), f"{doc.name}: {target}"
        if anchor:
            headings = re.findall(r"^#+ (.*)$", file.read_text(encoding="utf-8"), flags=re.M)
            assert anchor in {slug(h) for h in headings}, f"{doc.name}: {target}"
