"""Drafts: rule files saved but not served, which a signed preview link applies for that link only.

The console keeps a draft of a rule file in the hidden ``.drafts`` folder of the
rules folder (the loader, and so ``check`` and the shop, skip names starting with
``.``). A preview link made "with the drafts" carries the drafts' fingerprint
(:func:`drafts_digest`); the shop then decides that one request with the folder as
it would be with the drafts in their files' place (:class:`DraftPlans`). A link
whose drafts were since changed, published or discarded shows the live rules.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from smalldata.foundation.problems import ProblemsError
from smalldata.rules.load import RuleSettings, load_ruleset, rule_files
from smalldata.rules.ruleset import Ruleset

FOLDER = ".drafts"
T = TypeVar("T")


def drafts_folder(rules: Path) -> Path:
    """Where the drafts of a rules folder (or of the folder of one rule file) are kept."""
    return (rules if rules.is_dir() else rules.parent) / FOLDER


def draft_texts(rules: Path) -> dict[str, str]:
    """``{file name within the rules folder: its draft's text}``."""
    folder = drafts_folder(rules)
    if not folder.is_dir():
        return {}
    return {path.relative_to(folder).as_posix(): path.read_text(encoding="utf-8")
            for path in sorted(folder.rglob("*")) if path.is_file() and path.suffix in (".yaml", ".yml")}  # fmt: skip


def drafts_digest(rules: Path, texts: dict[str, str] | None = None) -> str | None:
    """A fingerprint of the drafts as they are now; None when there are none."""
    texts = draft_texts(rules) if texts is None else texts
    if not texts:
        return None
    digest = hashlib.sha256()
    for name, text in sorted(texts.items()):
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    return digest.hexdigest()[:16]


def load_with_drafts(rules: Path, settings: RuleSettings, texts: dict[str, str]) -> Ruleset:
    """The ruleset of ``rules`` with ``texts`` in their files' place; :class:`ProblemsError` when it does not check."""
    with tempfile.TemporaryDirectory(prefix="smalldata-draft-") as tmp:
        copy = Path(tmp) / "rules"
        if rules.is_file():
            copy.mkdir()
            target = copy / rules.name
            target.write_text(texts.get(rules.name, rules.read_text(encoding="utf-8")), encoding="utf-8")
            return load_ruleset(target, settings)
        for path in rule_files(rules):
            dest = copy / path.relative_to(rules)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
        for name, text in texts.items():
            dest = copy / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text, encoding="utf-8")
        return load_ruleset(copy, settings)


class DraftPlans(Generic[T]):
    """The compiled plan of the drafts a preview link names, made once per version of the drafts."""

    def __init__(self, rules: Path, settings: RuleSettings, compile: Callable[[Ruleset], T]) -> None:
        self.rules = rules
        self.settings = settings
        self.compile = compile
        self._plans: dict[str, T] = {}
        self._lock = threading.Lock()

    def plan(self, digest: str) -> T | None:
        """The plan with the drafts whose fingerprint is ``digest``; None when the drafts are not (any more)
        those, or do not check: the link then shows the live rules."""
        with self._lock:
            found = self._plans.get(digest)
        if found is not None:
            return found
        try:
            texts = draft_texts(self.rules)
            if drafts_digest(self.rules, texts) != digest:
                return None
            plan = self.compile(load_with_drafts(self.rules, self.settings, texts))
        except (ProblemsError, OSError, UnicodeDecodeError):
            return None
        with self._lock:
            self._plans = {digest: plan}  # only the newest drafts are ever asked for again
        return plan
