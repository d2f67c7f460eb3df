"""The rules overview: every rule in plain words, grouped by file or by slot, with every check problem."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from smalldata.tools.console.pages.common import console, form_of, language, render
from smalldata.tools.console.pages.edit import editor_response
from smalldata.tools.console.problems import problem_views
from smalldata.tools.console.texts import texts
from smalldata.tools.console.toggle import CannotToggle, set_enabled
from smalldata.tools.console.words import RuleWords, all_rule_words
from smalldata.tools.console.workspace import digest


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
    query = request.query_params.get("q", "").strip()
    total = len(rules)
    if query:
        rules = [rule for rule in rules if matches(rule, query)]
    by_file: dict[str, list[RuleWords]] = {name: [] for name in workspace.names()} if not query else {}
    for rule in rules:
        by_file.setdefault(rule.file, []).append(rule)
    return render(request, "rules.html", "rules", checked=checked, problems=problems, group=group, query=query,
                  total=total, shown=len(rules),
                  by_file=by_file, by_slot=_by_slot(rules),
                  rule_problems={rule.id: problem_views(rule.problems, workspace) for rule in rules})  # fmt: skip


def matches(rule: RuleWords, query: str) -> bool:
    """Does the search box's ``query`` appear in the rule's id, description, texts or slots (any case)?
    Several words must all appear."""
    parts = [rule.id, rule.description, rule.file, rule.experiment, *rule.slots]
    for action in [*rule.actions, *(a for variant in rule.variants for a in variant.actions)]:
        parts += [action.slot, action.note, *(text for _, text in action.texts)]
    haystack = "\n".join(parts).casefold()
    return all(word in haystack for word in query.casefold().split())


async def toggle_rule(request: Request) -> Response:
    """``POST /toggle``: write ``enabled: false`` (or ``true``) into the rule's file at its lines, as a save."""
    form = await form_of(request)
    state = console(request)
    workspace = state.workspace
    rule_id, enabled = form.get("rule", ""), form.get("enabled") == "true"
    serving = workspace.check().serving
    found = None
    if serving is not None:
        found = next((r for r in (*serving.rules, *serving.disabled) if r.id == rule_id), None)
    name = workspace.name_of(found.position.file) if found is not None else None
    t = texts(language(request))
    if found is None or name is None:
        raise HTTPException(404, t["no_such_rule"].format(rule=rule_id))
    current = workspace.read(name)
    try:
        text = set_enabled(current, found.position.line, rule_id, enabled)
    except CannotToggle as exc:
        raise HTTPException(409, str(exc)) from None
    summary = t["toggled_on" if enabled else "toggled_off"].format(rule=rule_id)
    saved = workspace.save(name, text, digest(current), author=state.author, summary=f"{name}: {summary}",
                           confirm=form.get("action") == "confirm")
    if saved.written:
        back = request.headers.get("referer", "")
        query = urlsplit(back).query if urlsplit(back).path == "/" else ""
        return RedirectResponse(f"/{'?' + query if query else ''}#rule-{rule_id}", status_code=303)
    # held back by a failing test, or an error: the editor says why, with the switched text to confirm
    return editor_response(request, name, text, digest(current), saved, f"{name}: {summary}")


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
