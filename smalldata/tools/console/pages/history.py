"""A rule file's history: every kept version with its time, author and summary; compare and restore in one click."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from smalldata.tools.console.history import ORIGINAL
from smalldata.tools.console.pages.common import console, form_of, language, render
from smalldata.tools.console.pages.edit import editor_name, editor_response
from smalldata.tools.console.texts import texts
from smalldata.tools.console.workspace import digest


@dataclass(frozen=True)
class DiffLine:
    """One line of a comparison: ``+`` (only in the file now), ``-`` (only in the version), or `` `` (both)."""

    mark: str
    text: str


async def history_page(request: Request) -> Response:
    """``/history/{name}``: the file's versions, newest first; ``?compare=<id>`` shows what changed since it."""
    state = console(request)
    workspace = state.workspace
    name = editor_name(request, workspace)
    path = workspace.path(name)
    versions = workspace.history.versions(path)
    compare = request.query_params.get("compare", "")
    lines: list[DiffLine] = []
    shown = None
    if compare:
        shown = next((v for v in versions if v.id == compare), None)
        old = workspace.history.text(path, compare) if shown is not None else None
        if old is None:
            raise HTTPException(404, texts(language(request))["no_such_version"])
        lines = diff_lines(old, workspace.read(name))
    return render(request, "history.html", "edit", name=name, versions=versions, compare=compare, shown=shown,
                  lines=lines, git=workspace.history.repository is not None, original=ORIGINAL)  # fmt: skip


async def restore_version(request: Request) -> Response:
    """``POST /history/{name}``: save the chosen version's text again (checked and tested like any save)."""
    form = await form_of(request)
    state = console(request)
    workspace = state.workspace
    name = editor_name(request, workspace)
    path = workspace.path(name)
    version = next((v for v in workspace.history.versions(path) if v.id == form.get("version", "")), None)
    text = workspace.history.text(path, version.id) if version is not None else None
    t = texts(language(request))
    if version is None or text is None:
        raise HTTPException(404, t["no_such_version"])
    current = workspace.read(name)
    summary = t["restored_summary"].format(name=name, at=version.at.astimezone(state.settings.zone)
                                           .strftime("%Y-%m-%d %H:%M"), author=version.author or "—")
    saved = workspace.save(name, text, digest(current), author=state.author, summary=summary,
                           confirm=form.get("action") == "confirm")
    return editor_response(request, name, text, digest(current), saved, summary)


def diff_lines(old: str, new: str) -> list[DiffLine]:
    """The lines of ``old`` and ``new`` in order, each marked as removed, added or kept (with 3 lines of context)."""
    lines: list[DiffLine] = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=3):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            lines.append(DiffLine("@", "…"))
        else:
            lines.append(DiffLine(line[:1], line[1:]))
    return lines
