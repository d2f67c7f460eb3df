"""The Try page (an imagined visitor's decision beside its trace, and a day's timeline) and the Preview page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from smalldata.preview.links import make_preview_url, preview_keys
from smalldata.rules.drafts import drafts_digest
from smalldata.rules.explain import decision_rows, show_value, trace_detail
from smalldata.rules.imagine import parse_moment, parse_sets
from smalldata.tools.console.pages.common import console, render
from smalldata.tools.console.problems import problem_views
from smalldata.tools.console.trying import DEVICES, STEPS, TryForm, clock, personas, step_of, try_visitor

#: The marks ``smalldata try --explain`` prints beside each status.
MARKS = {"matched": "✓", "failed": "✗", "capped": "⌀", "inactive": "…", "shadowed": "▽",
         "not_in_experiment": "○", "unknown_value": "?", "closed": "⏾", "disabled": "⊘"}


def _form(request: Request) -> TryForm:
    state = console(request)
    return TryForm.from_query(request.query_params, state.settings, state.clock(), state.sample_products())


def _moment(form: TryForm, request: Request) -> TryForm:
    """The slider's form sends a time of day (minutes) for the form's date."""
    minutes = request.query_params.get("minutes", "")
    if minutes.isdigit() and int(minutes) < 24 * 60 and len(form.at) >= 10:
        form.at = f"{form.at[:10]}T{int(minutes) // 60:02d}:{int(minutes) % 60:02d}"
    return form


async def try_page(request: Request) -> Response:
    """``/try``: the form, and (when the rules check) what this visitor gets and why."""
    state = console(request)
    form = _moment(_form(request), request)
    checked = state.workspace.check()
    context: dict[str, Any] = {
        "form": form, "personas": personas(state.settings, state.sample_products()), "devices": list(DEVICES),
        "marks": MARKS, "catalog": state.settings.signal_catalog, "languages": state.settings.languages,
        "zone": state.settings.timezone, "steps": STEPS, "clock": clock, "show_value": show_value,
        "trace_detail": trace_detail,
        "tried": None, "rows": [], "form_error": "",
        "problems": problem_views(checked.errors, state.workspace),
    }  # fmt: skip
    if checked.serving is None:
        return render(request, "try.html", "try", **context)
    try:  # with errors, the last good rules: what the shop serves meanwhile
        tried = await try_visitor(form, state.engine(checked.serving), state.settings, state.recommender)
    except ValueError as exc:
        return render(request, "try.html", "try", status_code=400, **{**context, "form_error": str(exc)})
    on = {day.rule for day in tried.timeline if "m" in day.steps or "s" in day.steps}
    context.update(tried=tried, rows=decision_rows(tried.decision), now_step=step_of(tried.moment),
                   timeline=[day for day in tried.timeline if day.rule in on],
                   never=[day.rule for day in tried.timeline if day.rule not in on])  # fmt: skip
    return render(request, "try.html", "try", **context)


async def preview_page(request: Request) -> Response:
    """``/preview``: a signed link to the real shop for the Try page's visitor and moment, variants forced."""
    state = console(request)
    settings = state.settings
    form = _form(request)
    checked = state.workspace.check()
    experiments = {}
    if checked.ruleset is not None:
        experiments = {rule.experiment.key: [arm.name for arm in rule.experiment.arms]
                       for rule in checked.ruleset.rules if rule.experiment is not None}  # fmt: skip
    forced = {key: request.query_params.get(f"variant.{key}", "") for key in experiments}
    forced = {key: name for key, name in forced.items() if name in [*experiments[key], "control"]}
    base = request.query_params.get("base_url", settings.preview.base_url or "").strip()
    if not base.startswith(("http://", "https://")):
        base = ""  # a link to the shop, never a javascript: or data: one
    drafts = state.workspace.drafts()
    with_drafts = bool(drafts) and request.query_params.get("drafts") == "1"
    draft = drafts_digest(state.workspace.root, drafts) if with_drafts else None
    context: dict[str, Any] = {
        "form": form, "experiments": experiments, "forced": forced, "base_url": base, "link": "", "form_error": "",
        "enabled": settings.preview.enabled, "ttl_hours": settings.preview.ttl_seconds / 3600,
        "drafts": sorted(drafts), "with_drafts": with_drafts, "draft": draft,
    }  # fmt: skip
    if not settings.preview.enabled:
        return render(request, "preview.html", "preview", **context)
    try:
        sets = parse_sets(form.set_lines(), settings.signal_catalog, option="")
        if form.language and "page.language" not in sets:
            sets["page.language"] = form.language.split(",")[0].split(";")[0].split("-")[0].strip().lower()
        moment = parse_moment(form.at, settings) if form.at else None
    except ValueError as exc:
        return render(request, "preview.html", "preview", status_code=400, **{**context, "form_error": str(exc)})
    target = form.url or "/"
    if urlsplit(target).scheme not in ("http", "https"):
        target = "/" + target.lstrip("/")  # a path of the shop (never a javascript: link)
    if base and not target.startswith(("http://", "https://")):
        target = base.rstrip("/") + "/" + target.lstrip("/")
    context["link"] = make_preview_url(
        target, sets=sets, at=moment, variants=forced, secret=preview_keys(settings.preview, settings.state)[0],
        ttl_seconds=settings.preview.ttl_seconds, param=settings.preview.param, draft=draft,
    )  # fmt: skip
    return render(request, "preview.html", "preview", **context)
