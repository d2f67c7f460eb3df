"""The rules overview: every rule in plain words, grouped by file or by slot, with every check problem."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from smalldata.console.pages.common import console, render
from smalldata.console.problems import problem_views
from smalldata.console.words import RuleWords, all_rule_words


async def rules_page(request: Request) -> Response:
    """``/``: the rules of the folder (``?group=slot`` for the slot view), problems at their lines."""
    state = console(request)
    workspace = state.workspace
    checked = workspace.check()
    group = "slot" if request.query_params.get("group") == "slot" else "file"
    problems = problem_views(checked.problems, workspace)
    rules: list[RuleWords] = []
    serving = checked.serving  # with errors, the last good rules: the shop keeps serving them
    if serving is not None:
        name_of = {file: workspace.name_of(file) or file for file in serving.files}
        warnings = checked.warnings if checked.ruleset is not None else []  # all are in ``problems`` too
        rules, _ = all_rule_words(serving, name_of, warnings)
    by_file: dict[str, list[RuleWords]] = {name: [] for name in workspace.names()}
    for rule in rules:
        by_file.setdefault(rule.file, []).append(rule)
    return render(request, "rules.html", "rules", checked=checked, problems=problems, group=group,
                  by_file=by_file, by_slot=_by_slot(rules),
                  rule_problems={rule.id: problem_views(rule.problems, workspace) for rule in rules})  # fmt: skip


def _by_slot(rules: list[RuleWords]) -> dict[str, list[RuleWords]]:
    """Each slot with the rules that can fill it, in the order the engine tries them (priority, then file)."""
    order = {rule.id: index for index, rule in enumerate(rules)}
    slots: dict[str, list[RuleWords]] = {}
    for rule in rules:
        for slot in rule.slots or ("tags",):
            slots.setdefault(slot, []).append(rule)
    for members in slots.values():
        members.sort(key=lambda rule: (not rule.enabled, -rule.priority, order[rule.id]))
    return dict(sorted(slots.items()))
