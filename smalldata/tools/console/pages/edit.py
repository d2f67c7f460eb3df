"""The rule file editor: the check as one types, and a save that writes only a file that checks."""

from __future__ import annotations

from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from smalldata.rules.testing import TestResult
from smalldata.tools.console.pages.common import console, form_of, language, refuse_without_token, render, templates
from smalldata.tools.console.problems import ProblemView, problem_views
from smalldata.tools.console.texts import texts
from smalldata.tools.console.workspace import Checked, Saved, UnknownFile, Workspace, digest, normalise

MAX_TEXT = 2 * 1024 * 1024  # the rule loader's own limit for one file


def editor_name(request: Request, workspace: Workspace) -> str:
    """The rule file a page's path names; 404 for anything else."""
    name = str(request.path_params["name"])
    try:
        workspace.path(name)
    except UnknownFile:
        raise HTTPException(404, texts(language(request))["no_such_file"].format(name=name)) from None
    return name


def _views(checked: Checked, workspace: Workspace, name: str, text: str) -> list[ProblemView]:
    """The problems of an edit, the edited file's first."""
    views = problem_views(checked.problems, workspace, {name: text})
    return sorted(views, key=lambda view: view.name != name)


async def files_page(request: Request) -> Response:
    """``/edit``: the rule files, each with its count of problems, and a form for a new one."""
    workspace = console(request).workspace
    problems = problem_views(workspace.check().problems, workspace)
    counts = {name: sum(p.name == name for p in problems) for name in workspace.names()}
    return render(request, "files.html", "edit", counts=counts, can_create=workspace.is_folder, new_error="")


async def create_file(request: Request) -> Response:
    """``POST /edit``: a new, empty rule file (a plain name ending in ``.yaml``)."""
    form = await form_of(request)
    workspace = console(request).workspace
    name = form.get("name", "").strip().lower()
    if name and "." not in name:
        name += ".yaml"
    t = texts(language(request))
    try:
        workspace.create(name, t["new_file_title"])
    except UnknownFile:
        problems = problem_views(workspace.check().problems, workspace)
        counts = {n: sum(p.name == n for p in problems) for n in workspace.names()}
        return render(request, "files.html", "edit", status_code=400, counts=counts, can_create=workspace.is_folder,
                      new_error=t["new_file_refused"].format(name=name))  # fmt: skip
    return RedirectResponse(f"/edit/{quote(name)}", status_code=303)


async def editor_page(request: Request) -> Response:
    """``/edit/{name}``: the file in a text area with its check (``?saved=1`` after a save)."""
    workspace = console(request).workspace
    name = editor_name(request, workspace)
    text = workspace.read(name)
    checked = workspace.check()
    draft = workspace.drafts().get(name)
    if draft is not None and request.query_params.get("draft") == "1":  # the draft, to go on with
        return _editor(request, name, draft, digest(text), workspace.check_text(name, draft), outcome="draft_open")
    outcome = {"draft": "drafted", "discarded": "discarded"}.get(request.query_params.get("done", ""), "")
    return _editor(request, name, text, digest(text), checked, saved=request.query_params.get("saved") == "1",
                   kept=request.query_params.get("kept", ""), outcome=outcome)


def _editor(request: Request, name: str, text: str, base: str, checked: Checked, *, saved: bool = False,
            outcome: str = "", status_code: int = 200, broken_tests: list[TestResult] | None = None,
            kept: str = "", summary: str = "") -> Response:
    workspace = console(request).workspace
    problems = _views(checked, workspace, name, text)
    return render(request, "edit.html", "edit", status_code=status_code, name=name, text=text, base=base,
                  broken_tests=broken_tests or [], kept=kept, summary=summary,
                  has_draft=name in workspace.drafts(),
                  problems=problems, saved=saved, outcome=outcome, editing=True, errors=len(checked.errors),
                  warnings=len(checked.warnings), lines=text.count("\n") + 1,
                  marked={p.line: p.severity for p in reversed(problems) if p.name == name})  # fmt: skip


async def save_file(request: Request) -> Response:
    """``POST /edit/{name}``: ``action=check`` shows the check; ``action=save`` writes the file if it checks."""
    form = await form_of(request)
    workspace = console(request).workspace
    name = editor_name(request, workspace)
    text = normalise(form.get("text", ""))
    if len(text.encode("utf-8")) > MAX_TEXT:
        raise HTTPException(413, texts(language(request))["too_large"])
    base = form.get("base", "") or None
    action = form.get("action")
    state = console(request)
    if action == "draft":
        drafted = workspace.save_draft(name, text)
        if drafted.written:
            return RedirectResponse(f"/edit/{quote(name)}?done=draft", status_code=303)
        return _editor(request, name, text, base or "", drafted.checked, outcome="refused", status_code=422)
    if action == "discard":
        workspace.discard_draft(name)
        return RedirectResponse(f"/edit/{quote(name)}?done=discarded", status_code=303)
    if action in ("publish", "publish_confirm") and name in workspace.drafts():
        draft = workspace.drafts()[name]
        published = workspace.publish_draft(name, state.author, confirm=action == "publish_confirm")
        return editor_response(request, name, draft, digest(workspace.read(name)), published)
    if action not in ("save", "confirm"):
        return _editor(request, name, text, base or "", workspace.check_text(name, text), outcome="checked")
    summary = form.get("summary", "")
    saved = workspace.save(name, text, base, author=state.author, summary=summary,
                           confirm=form.get("action") == "confirm")
    return editor_response(request, name, text, base or "", saved, summary)


def editor_response(request: Request, name: str, text: str, base: str, saved: Saved, summary: str = "") -> Response:
    """After a save: to the file (saved), or the editor with what held the text back."""
    workspace = console(request).workspace
    if saved.written:
        # the history's answer, said on the page: a git failure falls back to the folder and is shown
        kept = "" if saved.recorded is None or not saved.recorded.problem else saved.recorded.problem
        query = f"?saved=1&kept={quote(kept)}" if kept else "?saved=1"
        return RedirectResponse(f"/edit/{quote(name)}{query}", status_code=303)
    if saved.broken_tests:
        return _editor(request, name, text, base, saved.checked, outcome="tests", status_code=409,
                       broken_tests=saved.broken_tests, summary=summary)  # fmt: skip
    if saved.conflict:
        # the next save overwrites what is on disk now, having said so
        return _editor(request, name, text, digest(workspace.read(name)), saved.checked, outcome="conflict",
                       status_code=409)  # fmt: skip
    return _editor(request, name, text, base, saved.checked, outcome="refused", status_code=422)


async def check_text(request: Request) -> Response:
    """``POST /check`` (the editor's script): ``{name, text}`` → the check's problems, as HTML and line marks."""
    refuse_without_token(request)
    workspace = console(request).workspace
    try:
        data = await request.json()
        name, text = str(data["name"]), normalise(str(data["text"]))
        workspace.path(name)
    except (ValueError, KeyError, TypeError, RecursionError, UnknownFile):  # RecursionError: 5,000 "[" nest too deep
        return JSONResponse({"error": "send {name, text} of a rule file"}, status_code=400)
    if len(text.encode("utf-8")) > MAX_TEXT:
        return JSONResponse({"error": "too large"}, status_code=413)
    checked = workspace.check_text(name, text)
    problems = _views(checked, workspace, name, text)
    t = texts(language(request))
    html = templates.get_template("_problems.html").render(t=t, problems=problems, name=name, editing=True,
                                                           errors=len(checked.errors), warnings=len(checked.warnings))
    marks = {p.line: p.severity for p in reversed(problems) if p.name == name}
    return JSONResponse({"errors": len(checked.errors), "warnings": len(checked.warnings), "html": html,
                         "marks": [{"line": line, "severity": severity} for line, severity in marks.items()]})
