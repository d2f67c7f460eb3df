"""Django's own ways of answering: HttpResponse, StreamingHttpResponse, JsonResponse, FileResponse."""

from __future__ import annotations

from collections.abc import AsyncIterator

from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from ..shops import IMAGE, PAGE, PAGE_PARTS


def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE)  # Django's default: text/html; charset=utf-8, names as written ("Content-Type")


async def stream(request: HttpRequest) -> StreamingHttpResponse:
    async def parts() -> AsyncIterator[str]:
        for part in PAGE_PARTS:
            yield part

    return StreamingHttpResponse(parts(), content_type="text/html; charset=utf-8")


async def api(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def file(request: HttpRequest) -> FileResponse:
    return FileResponse(open(IMAGE, "rb"), content_type="image/png")  # FileResponse closes it


def decision(request: HttpRequest) -> JsonResponse:
    # a sync view, as most Django views are: Django runs it in a worker thread, where the read waits for the decision
    smalldata = request.scope["state"]["smalldata"]  # type: ignore[attr-defined]
    return JsonResponse({"greeting": smalldata.greeting})
