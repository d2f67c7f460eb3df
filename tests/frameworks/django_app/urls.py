"""The routes every framework in the matrix serves."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.page),
    path("stream", views.stream),
    path("api", views.api),
    path("file", views.file),
    path("decision", views.decision),
]
