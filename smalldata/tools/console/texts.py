"""The console's interface texts, in Danish and English (``texts/da.yaml``, ``texts/en.yaml``).

What the library itself says (check problems, conditions, trace details) stays in
the words ``smalldata check`` and ``try`` print, so a merchandiser can search the
guide for them; the texts around them follow the interface language.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from smalldata.foundation.yamlpos import load_text

LANGUAGES = ("da", "en")
DEFAULT = "en"
FOLDER = Path(__file__).parent / "texts"


@cache
def texts(language: str) -> dict[str, str]:
    """Every interface text of ``language`` (one of :data:`LANGUAGES`) by key."""
    path = FOLDER / f"{language}.yaml"
    data = load_text(path.read_bytes(), str(path)).data  # YAML 1.2: "off" and "no" stay words
    return {str(key): str(value) for key, value in data.items()}


def best_language(accept_language: str) -> str:
    """The first of :data:`LANGUAGES` a browser's ``Accept-Language`` names, else English."""
    ranked = []
    for index, item in enumerate(accept_language.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.split("-")[0].lower()))
    return next((tag for _, _, tag in sorted(ranked) if tag in LANGUAGES), DEFAULT)
