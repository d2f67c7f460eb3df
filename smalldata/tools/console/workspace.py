"""The rules folder the console works on: its files, their check, and saving an edit only when it checks.

Every check is :func:`smalldata.rules.check_ruleset`, the one ``smalldata check``
runs. An edit not yet saved is checked in a temporary copy of the folder with the
edited text in its file's place, so segments and rule ids of the other files
count, and the problems come back with the real file names.

A save goes through a hidden temporary file and one ``os.replace``: the running
shop, which reloads a rule file when it changes, reads either the old file or the
new one, never half of it. (Its loader skips names starting with ``.``.)
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from smalldata.foundation.problems import Position, Problem
from smalldata.rules import Ruleset, check_ruleset, rule_files
from smalldata.rules.drafts import draft_texts, drafts_folder
from smalldata.rules.testing import TestResult, run_tests
from smalldata.settings import Settings
from smalldata.tools.console.history import History, Recorded

NEW_FILE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,60}\.ya?ml$")
NEW_FILE_TEXT = "# {title}\nrules: []\n"
Signature = tuple[tuple[str, int, int], ...]


class UnknownFile(LookupError):
    """A name that is not a rule file of the folder (or tries to leave it)."""


@dataclass(frozen=True)
class Checked:
    """What the check found: the ruleset (``None`` with errors) and every error and warning."""

    ruleset: Ruleset | None
    problems: list[Problem] = field(default_factory=list)
    # with errors: the last rules that checked, the ones the running shop keeps serving
    last_good: Ruleset | None = None

    @property
    def serving(self) -> Ruleset | None:
        """The rules the shop serves: these when they check, else the last good ones (None: none known)."""
        return self.ruleset if self.ruleset is not None else self.last_good

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


@dataclass(frozen=True)
class Saved:
    """The outcome of a save: written or not, the check of the text, and what stopped it."""

    written: bool
    checked: Checked
    blocking: list[Problem] = field(default_factory=list)  # errors this text brings
    conflict: bool = False  # the file changed on disk since the editor opened it
    broken_tests: list[TestResult] = field(default_factory=list)  # tests this text breaks (held back unless confirmed)
    recorded: Recorded | None = None  # how the history kept it (None: nothing written)


def digest(text: str) -> str:
    """A short fingerprint of a file's text: the editor sends back the one it started from."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def normalise(text: str) -> str:
    """Browsers send a textarea's lines with CRLF; rule files keep LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


class Workspace:
    """A rules folder (or one rule file) and the settings it is checked with."""

    def __init__(self, rules: str | Path, settings: Settings) -> None:
        self.root = Path(rules)
        self.settings = settings
        self._cached: tuple[Signature, Checked] | None = None
        self._last_good: Ruleset | None = None
        self._history: History | None = None
        self._aliases: dict[str, str] = {}  # the copy's file → its name, for rules checked in a copy

    @property
    def is_folder(self) -> bool:
        return not self.root.is_file()

    # -- files ------------------------------------------------------------------

    def names(self) -> list[str]:
        """The rule files, as names within the folder (``greetings.yaml``, ``shop/chat.yaml``)."""
        if not self.root.exists():
            return []
        return [self._name(path) for path in rule_files(self.root)]

    def _name(self, path: Path) -> str:
        return path.name if self.root.is_file() else path.relative_to(self.root).as_posix()

    def name_of(self, file: str) -> str | None:
        """The name of the rule file a problem's position names, or None for another file."""
        if file in self._aliases:
            return self._aliases[file]
        path = Path(file)
        if self.root.is_file():
            return self.root.name if path == self.root else None
        try:
            name = path.relative_to(self.root).as_posix()
        except ValueError:
            return None
        return name if name in self.names() else None

    def path(self, name: str) -> Path:
        """The file of a name :meth:`names` lists; :class:`UnknownFile` for anything else."""
        if name not in self.names():
            raise UnknownFile(name)
        return self.root if self.root.is_file() else self.root / name

    def read(self, name: str) -> str:
        return self.path(name).read_text(encoding="utf-8")

    def create(self, name: str, title: str) -> Path:
        """A new rule file with no rules yet; :class:`UnknownFile` for a name that is taken or not plain."""
        if not self.is_folder or not NEW_FILE.match(name) or name in self.names():
            raise UnknownFile(name)
        path = self.root / name
        if path.exists():
            raise UnknownFile(name)
        _write(path, NEW_FILE_TEXT.format(title=title))
        return path

    # -- checking -------------------------------------------------------------------

    def check(self) -> Checked:
        """The folder as it is on disk (checked again only when a file changed)."""
        signature = self._signature()
        if self._cached is None or self._cached[0] != signature:
            ruleset, problems = check_ruleset(self.root, self.settings)
            if ruleset is not None:
                self._last_good = ruleset
            elif self._last_good is None:
                self._last_good = self._without_broken_files(problems)
            self._cached = (signature, Checked(ruleset, problems, self._last_good))
        return self._cached[1]

    def _without_broken_files(self, problems: list[Problem]) -> Ruleset | None:
        """The folder's rules less the files with errors: what a shop started before the break still serves
        (a console opened on a broken folder has seen no good version of it)."""
        broken = {p.position.file for p in problems if p.severity == "error"}
        if not self.is_folder:
            return None
        with tempfile.TemporaryDirectory(prefix="smalldata-console-") as tmp:
            copy = Path(tmp) / "rules"
            copy.mkdir()
            for path in rule_files(self.root):
                if str(path) not in broken:
                    dest = copy / path.relative_to(self.root)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, dest)
                    self._aliases[str(dest)] = self._name(path)
            ruleset, _ = check_ruleset(copy, self.settings)
        return ruleset

    def _signature(self) -> Signature:
        if not self.root.exists():
            return ()
        stats = []
        for path in rule_files(self.root):
            try:
                stat = path.stat()
            except OSError:
                continue
            stats.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(stats)

    def check_text(self, name: str, text: str) -> Checked:
        """The folder as it would be with ``text`` in file ``name`` (problems name the real files)."""
        self.path(name)  # a known file only
        with tempfile.TemporaryDirectory(prefix="smalldata-console-") as tmp:
            copy = Path(tmp) / "rules"
            if self.root.is_file():
                copy.mkdir()
                target = copy / self.root.name
                target.write_text(text, encoding="utf-8")
                ruleset, problems = check_ruleset(target, self.settings)
            else:
                for path in rule_files(self.root):
                    dest = copy / path.relative_to(self.root)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, dest)
                (copy / name).write_text(text, encoding="utf-8")
                ruleset, problems = check_ruleset(copy, self.settings)
            return Checked(ruleset, [self._moved(problem, copy) for problem in problems])

    def _moved(self, problem: Problem, copy: Path) -> Problem:
        """A problem found in the copy, named as ``smalldata check`` names it in the real folder."""
        try:
            inside = Path(problem.position.file).relative_to(copy)
        except ValueError:
            return problem
        real = self.root if self.root.is_file() else self.root / inside
        position = Position(str(real), problem.position.line, problem.position.col)
        return Problem(position, problem.message, problem.severity)

    # -- saving ------------------------------------------------------------------------

    def save(self, name: str, text: str, base: str | None, *, author: str = "console", summary: str = "",
             confirm: bool = False) -> Saved:
        """Write ``text`` to ``name`` when it checks; the shop's running rules never see an edit that does not.

        Errors in the edited file stop the save, and so do errors it causes elsewhere
        (a segment removed that another file uses). Errors another file already had do
        not: the shop keeps its last good rules until they are fixed either way.
        ``base`` is :func:`digest` of the text the editor started from: when the file
        has changed on disk since, nothing is written (``conflict``).

        The folder's rule tests run on the edited rules: a text that makes a passing test
        fail is held back (``broken_tests``) unless ``confirm``, and then the history
        records that it was saved with those tests failing. Every save is kept in the
        history with ``author`` and ``summary`` (a summary of the change when empty).
        """
        text = normalise(text)
        checked = self.check_text(name, text)
        current = self.read(name)
        if base is not None and base != digest(current):
            return Saved(False, checked, conflict=True)
        before = {_key(p) for p in self.check().errors}
        own = str(self.path(name))
        blocking = [p for p in checked.errors if p.position.file == own or _key(p) not in before]
        if blocking:
            return Saved(False, checked, blocking)
        if text == current:
            return Saved(True, checked)
        broken = self.broken_tests(checked)
        if broken and not confirm:
            return Saved(False, checked, broken_tests=broken)
        line = summary.strip().splitlines()[0][:200] if summary.strip() else describe(name, current, text)
        if broken:
            line += f" (saved with failing tests, confirmed: {', '.join(r.case.test.name for r in broken)})"
        path = self.path(name)
        _write(path, text)
        recorded = self.history.record(path, text, author, line, previous=current)
        return Saved(True, checked, broken_tests=broken, recorded=recorded)

    def broken_tests(self, checked: Checked) -> list[TestResult]:
        """The rule tests that fail with ``checked``'s rules and did not fail with the rules on disk."""
        if checked.ruleset is None:
            return []
        failing = [r for r in run_tests(checked.ruleset, self.settings) if not r.passed]
        if not failing:
            return []
        on_disk = self.check().ruleset
        before = {r.case.test.name for r in run_tests(on_disk, self.settings) if not r.passed} if on_disk else set()
        return [r for r in failing if r.case.test.name not in before]

    # -- drafts --------------------------------------------------------------------------

    def drafts(self) -> dict[str, str]:
        """The drafts waiting (``{file name: text}``): saved, not served, seen through a preview link."""
        return {name: text for name, text in draft_texts(self.root).items() if name in self.names()}

    def save_draft(self, name: str, text: str) -> Saved:
        """Keep ``text`` as the draft of ``name`` when it checks with the other files (the live file is untouched)."""
        text = normalise(text)
        checked = self.check_text(name, text)
        if checked.errors:
            return Saved(False, checked, checked.errors)
        path = drafts_folder(self.root) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, text)
        return Saved(True, checked)

    def discard_draft(self, name: str) -> None:
        """Throw the draft of ``name`` away (preview links made with it show the live rules from now on)."""
        self.path(name)  # a known file only
        (drafts_folder(self.root) / name).unlink(missing_ok=True)

    def publish_draft(self, name: str, author: str, *, confirm: bool = False) -> Saved:
        """Save the draft of ``name`` as the live file (checked, tested and kept like any save), then drop it."""
        text = self.drafts().get(name)
        if text is None:
            raise UnknownFile(name)
        saved = self.save(name, text, None, author=author, summary=f"{name}: published its draft", confirm=confirm)
        if saved.written:
            self.discard_draft(name)
        return saved

    @property
    def history(self) -> History:
        """Where saves are kept (git, or the hidden ``.history`` folder)."""
        if self._history is None:
            self._history = History(self.root if self.is_folder else self.root.parent)
        return self._history


def describe(name: str, old: str, new: str) -> str:
    """A one-line summary of an edit: the file, the rules whose lines changed, how many lines."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    changed: list[int] = []  # indexes into the new text (or where a removal was)
    count = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False).get_opcodes():
        if tag != "equal":
            count += max(i2 - i1, j2 - j1)
            changed.extend(range(j1, max(j2, j1 + 1)))
    ids: dict[str, None] = {}
    for index in changed:
        for line in reversed(new_lines[: index + 1]):
            found = _RULE_ID.match(line)
            if found:
                ids[found.group(1)] = None
                break
    rules = f" ({', '.join(ids)})" if ids else ""
    return f"{name}: {count} line{'s' if count != 1 else ''} changed{rules}"


_RULE_ID = re.compile(r"^\s*-\s+id:\s*['\"]?([\w.-]+)")


def _key(problem: Problem) -> tuple[str, int, int, str]:
    return problem.position.file, problem.position.line, problem.position.col, problem.message


def _write(path: Path, text: str) -> None:
    """Replace ``path`` in one step, keeping its permissions (a hidden temporary file the loader skips)."""
    temporary = path.with_name(f".{path.name}.console-{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        if path.exists():
            shutil.copymode(path, temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
