"""Load a folder of rule files into a compiled :class:`Ruleset`, reporting every problem at once."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from smalldata.foundation.problems import Position, Problem, ProblemsError, did_you_mean
from smalldata.foundation.validation import validate
from smalldata.foundation.yamlpos import Document, YamlError, load_text
from smalldata.rules import model
from smalldata.rules.action_types import compile_actions
from smalldata.rules.actions import ActionSet
from smalldata.rules.chat_texts import ChatTexts, ClientSettings
from smalldata.rules.conditions import Node
from smalldata.rules.experiments import Arm, CompiledExperiment
from smalldata.rules.lists import named_lists
from smalldata.rules.ruleset import ActiveWindow, CompiledRule, Ruleset, TestCase
from smalldata.rules.when import ConditionCompiler, unknown_signal_message
from smalldata.signals.catalog import BUILT_IN, SignalCatalog

FILE_KEYS = ("segments", "rules", "tests", "lists")
MAX_FILES = 500

#: A shop's defaults (``smalldata.settings.Settings`` starts from the same).
DEFAULT_TIMEZONE = "Europe/Copenhagen"
DEFAULT_LANGUAGE = "da"
DEFAULT_LANGUAGES = ("da", "en")
DEFAULT_EXPERIMENT_SALT = "smalldata"
_DEFAULT_ZONE = ZoneInfo(DEFAULT_TIMEZONE)


class RuleSettings(Protocol):
    """What loading rules reads of a shop's settings (:class:`smalldata.settings.Settings` has it all):
    its time zone (schedules, dates), languages, experiment salt and the signals rules may read."""

    @property
    def zone(self) -> ZoneInfo: ...

    @property
    def languages(self) -> tuple[str, ...]: ...

    @property
    def default_language(self) -> str: ...

    @property
    def experiment_salt(self) -> str: ...

    @property
    def signal_catalog(self) -> SignalCatalog: ...

    def chat_texts(self) -> Mapping[str, ChatTexts]: ...


@dataclass(frozen=True)
class DefaultRuleSettings:
    """The rule settings of a shop that configured nothing."""

    zone: ZoneInfo = _DEFAULT_ZONE
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    default_language: str = DEFAULT_LANGUAGE
    experiment_salt: str = DEFAULT_EXPERIMENT_SALT
    signal_catalog: SignalCatalog = BUILT_IN

    def chat_texts(self) -> Mapping[str, ChatTexts]:
        return ClientSettings().chat_texts((self.default_language, *self.languages))


def rule_files(folder: str | FsPath) -> list[FsPath]:
    """The YAML files of a rules folder (or the one file given), in name order, hidden ones skipped."""
    path = FsPath(folder)
    if path.is_file():
        return [path]
    files = [p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()]
    return sorted(p for p in files if not any(part.startswith(".") for part in p.relative_to(path).parts))


def load_ruleset(folder: str | FsPath, settings: RuleSettings | None = None) -> Ruleset:
    """Load and compile ``folder``; raises :class:`ProblemsError` listing every error."""
    ruleset, problems = check_ruleset(folder, settings)
    errors = [p for p in problems if p.severity == "error"]
    if errors or ruleset is None:
        raise ProblemsError(errors)
    return ruleset


def check_ruleset(folder: str | FsPath,
                  settings: RuleSettings | None = None) -> tuple[Ruleset | None, list[Problem]]:
    """Load ``folder`` and return the ruleset (``None`` on errors) with every error and warning."""
    from smalldata.rules.lint import lint

    loader = _Loader(settings or DefaultRuleSettings())
    ruleset = loader.load(FsPath(folder))
    problems = sorted(loader.problems, key=lambda p: p.position)
    if any(p.severity == "error" for p in problems):
        return None, problems
    warnings = lint(ruleset)
    ruleset.warnings = warnings
    return ruleset, sorted([*problems, *warnings], key=lambda p: p.position)


def _evaluation_order(rule: CompiledRule) -> tuple[int, int]:
    return -rule.priority, rule.order


def _version(folder: FsPath, docs: list[Document]) -> str:
    """The ruleset's version: a hash of the files' names within the folder and their content.

    Names are taken relative to the folder, so ``smalldata check``, ``check --rules
    $PWD/rules`` and the shop show the same version for the same files.
    """
    digest = hashlib.sha256()
    for doc in docs:
        path = FsPath(doc.file)
        name = path.relative_to(folder).as_posix() if folder.is_dir() else path.name
        digest.update(name.encode() + b"\0" + repr(doc.data).encode() + b"\0")
    return digest.hexdigest()[:12]


class _Loader:
    def __init__(self, settings: RuleSettings) -> None:
        self.settings = settings
        self.chat_texts = settings.chat_texts()
        self.problems: list[Problem] = []
        self.unchecked_ids: set[str] = set()  # rules dropped for a mistake of their own

    def error(self, position: Position, message: str) -> None:
        self.problems.append(Problem(position, message))

    def load(self, folder: FsPath) -> Ruleset:
        docs = self._documents(folder)
        segments = self._segment_sources(docs)
        lists = named_lists(docs, self.error)
        compiler = ConditionCompiler(segments, self.settings.zone, self.settings.signal_catalog, lists)
        segment_nodes = {name: compiler.segment(name) for name in segments}
        rules = self._rules(docs, compiler)
        # a test may name any rule written in the files: a disabled one (it fails when expected to match),
        # and one with a mistake of its own (that mistake is its one message)
        tests = self._tests(docs, {rule.id for rule in rules} | self.unchecked_ids)
        self.problems.extend(compiler.problems)
        enabled = tuple(sorted((r for r in rules if r.source.enabled), key=_evaluation_order))
        disabled = tuple(sorted((r for r in rules if not r.source.enabled), key=_evaluation_order))
        return Ruleset(enabled, segment_nodes, tests, _version(folder, docs), [d.file for d in docs],
                       disabled=disabled)

    # -- files --------------------------------------------------------------

    def _documents(self, folder: FsPath) -> list[Document]:
        if not folder.exists():
            self.error(Position(str(folder), 1, 1), f"no such rules folder or file (looked for {folder.absolute()})")
            return []
        files = rule_files(folder)
        if len(files) > MAX_FILES:
            self.error(Position(str(folder), 1, 1), f"more than {MAX_FILES} rule files")
            files = files[:MAX_FILES]
        docs: list[Document] = []
        for path in files:
            try:
                doc = load_text(path.read_bytes(), str(path))
            except YamlError as exc:
                self.problems.append(exc.problem)
                continue
            except OSError as exc:
                self.error(Position(str(path), 1, 1), f"cannot read file: {exc.strerror}")
                continue
            if doc.data is None:
                doc.data = {}
            if not isinstance(doc.data, dict):
                self.error(doc.at(()), "a rule file is a mapping with 'rules:' (and optionally 'segments:', 'tests:')")
                continue
            for key in doc.data:
                if key not in FILE_KEYS:
                    self.error(doc.key_at((key,)), f"unknown section '{key}'{did_you_mean(key, FILE_KEYS)}")
            docs.append(doc)
        return docs

    def _section(self, doc: Document, key: str, kind: type) -> Any:
        value = doc.data.get(key)
        if value is None:
            return kind()
        if not isinstance(value, kind):
            self.error(doc.at((key,)), f"'{key}' must be a {'list' if kind is list else 'mapping'}")
            return kind()
        return value

    # -- segments -----------------------------------------------------------

    def _segment_sources(self, docs: list[Document]) -> dict[str, tuple[Any, Document, tuple[str | int, ...]]]:
        sources: dict[str, tuple[Any, Document, tuple[str | int, ...]]] = {}
        for doc in docs:
            for name, condition in self._section(doc, "segments", dict).items():
                path = ("segments", name)
                if name in sources:
                    first = sources[name][1].key_at(("segments", name))
                    self.error(doc.key_at(path), f"duplicate segment '{name}' (first defined at {first})")
                    continue
                sources[name] = (condition, doc, path)
        return sources

    # -- rules --------------------------------------------------------------

    def _rules(self, docs: list[Document], compiler: ConditionCompiler) -> list[CompiledRule]:
        rules: list[CompiledRule] = []
        seen: dict[str, Position] = {}
        order = 0
        for doc in docs:
            for index, raw in enumerate(self._section(doc, "rules", list)):
                path: tuple[str | int, ...] = ("rules", index)
                rule, problems = validate(model.Rule, raw, doc, path)
                self.problems.extend(problems)
                if rule is None:
                    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                        self.unchecked_ids.add(raw["id"])
                    continue
                position = doc.at((*path, "id"))
                if rule.id in seen:
                    self.error(position, f"duplicate rule id '{rule.id}' (first defined at {seen[rule.id]})")
                    continue
                seen[rule.id] = position
                compiled = self._rule(rule, doc, path, position, order, compiler)
                order += 1
                rules.append(compiled)
        return rules

    def _rule(self, rule: model.Rule, doc: Document, path: tuple[str | int, ...], position: Position,
              order: int, compiler: ConditionCompiler) -> CompiledRule:
        condition: Node = compiler.compile(rule.when, doc, (*path, "when"))
        fallback = self.settings.default_language
        actions: ActionSet | None = None
        experiment: CompiledExperiment | None = None
        if rule.then is not None:
            actions = self._actions(rule.then, doc, (*path, "then"), fallback)
        if rule.experiment is not None:
            experiment = self._experiment(rule.experiment, doc, (*path, "experiment"), fallback)
        sets = [actions] if actions else [arm.actions for arm in experiment.arms] if experiment else []
        slots = tuple(dict.fromkeys(slot for s in sets for slot in s.slots))
        tags = tuple(dict.fromkeys(tag for s in sets for tag in s.tags))
        reads = condition.reads.union(*(s.reads for s in sets))
        active = ActiveWindow.build(rule.active, self.settings.zone) if rule.active else None
        if active is not None:
            reads |= {"time.now"}
        return CompiledRule(rule.id, rule.description, rule.priority, order, position, condition, actions,
                            experiment, rule.cap, active, slots, tags, reads, rule)

    def _actions(self, then: model.Actions, doc: Document, path: tuple[str | int, ...], fallback: str) -> ActionSet:
        actions, errors = compile_actions(then, fallback=fallback, languages=self.settings.languages,
                                          catalog=self.settings.signal_catalog, chat_texts=self.chat_texts)
        for where, message in errors:
            self.error(doc.at((*path, *where)), message)
        return actions

    def _experiment(self, experiment: model.Experiment, doc: Document, path: tuple[str | int, ...],
                    fallback: str) -> CompiledExperiment:
        arms = []
        for i, variant in enumerate(experiment.variants):
            actions = ActionSet()
            if variant.then is not None:
                actions = self._actions(variant.then, doc, (*path, "variants", i, "then"), fallback)
            arms.append(Arm(variant.name, variant.weight, actions))
        salt = experiment.salt or self.settings.experiment_salt
        return CompiledExperiment(experiment.key, salt, tuple(arms))

    # -- tests --------------------------------------------------------------

    def _tests(self, docs: list[Document], rule_ids: set[str]) -> list[TestCase]:
        cases: list[TestCase] = []
        for doc in docs:
            for index, raw in enumerate(self._section(doc, "tests", list)):
                path: tuple[str | int, ...] = ("tests", index)
                test, problems = validate(model.RuleTest, raw, doc, path)
                self.problems.extend(problems)
                if test is None:
                    continue
                catalog = self.settings.signal_catalog
                for name, value in test.given.items():
                    if catalog.resolve(name) is None:
                        self.error(doc.key_at((*path, "given", name)), unknown_signal_message(name, catalog))
                    elif (problem := catalog.value_problem(name, value)) is not None:
                        self.error(doc.at((*path, "given", name)), problem)
                expect = test.expect
                for key in ("matched", "not_matched"):
                    for i, rule_id in enumerate(getattr(expect, key) or []):
                        if rule_id not in rule_ids:
                            self.error(doc.at((*path, "expect", key, i)),
                                       f"unknown rule '{rule_id}'{did_you_mean(rule_id, rule_ids)}")
                cases.append(TestCase(test, doc.at(path)))
        return cases
