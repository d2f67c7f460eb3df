"""Every save the console makes, kept: its time, its author, a one-line summary, and the file's text.

When the rules folder is inside a git repository, a save is a commit of that one
file with the console user as its author, so the shop's developers see the
merchandisers' changes in their own history. Otherwise (or when git fails, which
never fails the save) the console keeps a hidden ``.history`` folder beside the
rule files: the rule loader, and so ``smalldata check`` and the shop, skip names
starting with ``.``.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

FOLDER = ".history"
GIT_TIMEOUT = 10.0  # seconds; a hanging git (a lock, a hook) must not hold a save up for long
CONSOLE_EMAIL = "console@smalldata.invalid"
ORIGINAL = "as it was before its first save in the console"


@dataclass(frozen=True)
class Version:
    """One kept version of a rule file."""

    id: str  # a commit hash, or the name of the kept copy
    at: datetime
    author: str
    summary: str


@dataclass(frozen=True)
class Recorded:
    """How a save was kept: ``"git"`` (a commit) or ``"folder"``, and why git was not used when it failed."""

    how: str
    problem: str = ""


class History:
    """The versions of the rule files of the folder ``root`` (the folder of a single rule file)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / FOLDER
        self.repository = _git_top(root)

    # -- keeping ---------------------------------------------------------------------

    def record(self, path: Path, text: str, author: str, summary: str, now: datetime | None = None, *,
               previous: str | None = None) -> Recorded:
        """Keep the text just written to ``path``; a failing git falls back to the folder, saying why.

        ``previous`` is the text it replaced: the folder keeps it too before the file's first
        kept version, so the first save can be undone as well.
        """
        now = now or datetime.now(UTC)
        if self.repository is not None:
            problem = self._commit(path, author, summary)
            if not problem:
                return Recorded("git")
        else:
            problem = ""
        if previous is not None and not self._folder_versions(path):
            self._keep(path, previous, "", ORIGINAL, now - timedelta(microseconds=1))
        self._keep(path, text, author, summary, now)
        return Recorded("folder", problem)

    def _commit(self, path: Path, author: str, summary: str) -> str:
        identity = ["-c", f"user.name={author}", "-c", f"user.email={CONSOLE_EMAIL}"]
        steps = [["add", "--", str(path)],
                 [*identity, "commit", "--quiet", "--no-verify", f"--author={author} <{CONSOLE_EMAIL}>",
                  "-m", summary, "--", str(path)]]  # fmt: skip
        for step in steps:
            problem = _git(self.root, step)[1]
            if problem:
                return problem
        return ""

    def _keep(self, path: Path, text: str, author: str, summary: str, now: datetime) -> None:
        name = self._name(path)
        stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
        copy = self.folder / "files" / f"{stamp}-{name.replace('/', '__')}"
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(text, encoding="utf-8")
        entry = {"at": now.isoformat(), "author": author, "file": name, "summary": summary, "copy": copy.name}
        with (self.folder / "log.jsonl").open("a", encoding="utf-8") as log:
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def _name(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    # -- reading ---------------------------------------------------------------------

    def versions(self, path: Path) -> list[Version]:
        """The kept versions of ``path``, the newest first (git's commits and the folder's copies)."""
        found = self._folder_versions(path)
        if self.repository is not None:
            out, problem = _git(self.root, ["log", "-n", "50", "--format=%H%x1f%an%x1f%aI%x1f%s", "--", str(path)])
            if not problem:
                for line in out.splitlines():
                    commit, author, at, summary = [*line.split("\x1f"), "", "", ""][:4]
                    found.append(Version(commit, datetime.fromisoformat(at), author, summary))
        return sorted(found, key=lambda version: version.at, reverse=True)

    def _folder_versions(self, path: Path) -> list[Version]:
        log = self.folder / "log.jsonl"
        if not log.exists():
            return []
        name = self._name(path)
        versions = []
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                if entry["file"] == name:
                    versions.append(Version(str(entry["copy"]), datetime.fromisoformat(entry["at"]),
                                            str(entry["author"]), str(entry["summary"])))  # fmt: skip
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash: the others still count
        return versions

    def text(self, path: Path, version: str) -> str | None:
        """The text of ``path`` at ``version`` (an id from :meth:`versions`), or None when it is not kept."""
        if version in {v.id for v in self._folder_versions(path)}:
            return (self.folder / "files" / version).read_text(encoding="utf-8")
        if self.repository is not None and version in {v.id for v in self.versions(path)}:
            relative = path.resolve().relative_to(self.repository).as_posix()
            out, problem = _git(self.root, ["show", f"{version}:{relative}"])
            return None if problem else out
        return None


def _git_top(folder: Path) -> Path | None:
    out, problem = _git(folder, ["rev-parse", "--show-toplevel"])
    return Path(out.strip()).resolve() if not problem and out.strip() else None


def _git(folder: Path, arguments: list[str]) -> tuple[str, str]:
    """``git -C folder …`` → (its output, "" or why it failed); git missing or hanging is a failure, never a raise."""
    environment = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run(["git", "-C", str(folder), *arguments], capture_output=True, text=True,
                              timeout=GIT_TIMEOUT, env=environment, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", f"git could not run ({exc.__class__.__name__})"
    if done.returncode != 0:
        return "", (done.stderr.strip().splitlines() or [f"git exited with {done.returncode}"])[-1]
    return done.stdout, ""
