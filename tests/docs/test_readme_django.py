"""README's "Add it to a Django shop" is the example Django shop's real code, which the browser tests run.

Each code block of the section starts with a comment naming a file of the repository; its
other lines appear in that file verbatim and in order (a line ``...`` stands for lines left out).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```\w*\n(?P<body>.*?)^```$", re.S | re.M)
NAMED = re.compile(r"^(?:# |<!-- )(?P<path>[\w./-]+)(?: -->)?$")


def django_section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Add it to a Django shop")
    return readme[start : readme.index("\n## ", start + 1)]


def blocks() -> list[tuple[str, list[str]]]:
    found = []
    for match in FENCE.finditer(django_section()):
        first, *rest = match.group("body").rstrip("\n").split("\n")
        named = NAMED.match(first)
        assert named, f"a block of README's Django section names no file: {first!r}"
        found.append((named.group("path"), rest))
    return found


def test_the_readme_django_section_shows_the_asgi_settings_yaml_hook_and_template_code() -> None:
    assert {path.rsplit("/", 1)[-1] for path, _ in blocks()} == {
        "asgi.py", "settings.py", "smalldata.yaml", "basket.py", "base.html"}  # fmt: skip


def test_every_line_of_the_readme_django_section_is_in_the_example_shop_verbatim() -> None:
    for path, lines in blocks():
        text = (ROOT / path).read_text()
        position = 0
        for part in "\n".join(lines).split("\n...\n"):
            found = text.find(part, position)
            assert found >= 0, f"README shows code that {path} does not have (or not in this order):\n{part}"
            position = found + len(part)
