"""A file catalogue follows edits to its file, looks at the disk at most once a second, and survives bad edits."""

from __future__ import annotations

import os
from pathlib import Path

from smalldata.catalogue import FileCatalogue, MemoryCatalogue, Product


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, text: str, mtime: int) -> None:
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def test_an_edited_file_is_reloaded_once_a_second_has_passed(tmp_path: Path) -> None:
    path, clock = tmp_path / "p.csv", Clock()
    write(path, "id,name\na,A\n", 1_000)
    catalogue = FileCatalogue(path, clock=clock)
    write(path, "id,name\na,A\nb,B\n", 2_000)
    clock.now += 0.5
    assert not catalogue.reload_if_changed()
    assert catalogue.get("b") is None
    clock.now += 0.6
    assert catalogue.reload_if_changed()
    assert catalogue.get("b") is not None
    assert catalogue.loads == 2


async def test_refresh_reloads_off_the_event_loop(tmp_path: Path) -> None:
    path, clock = tmp_path / "p.json", Clock()
    write(path, '[{"id": "a", "name": "A"}]', 1_000)
    catalogue = FileCatalogue(path, clock=clock)
    write(path, '[{"id": "a", "name": "A2"}]', 2_000)
    clock.now += 2
    await catalogue.refresh()
    a = catalogue.get("a")
    assert a is not None and a.name == "A2"


async def test_an_unchanged_file_is_not_read_again(tmp_path: Path) -> None:
    path, clock = tmp_path / "p.csv", Clock()
    write(path, "id,name\na,A\n", 1_000)
    catalogue = FileCatalogue(path, clock=clock)
    for _ in range(3):
        clock.now += 5
        await catalogue.refresh()
    assert catalogue.loads == 1


async def test_a_broken_edit_keeps_the_last_good_products(tmp_path: Path) -> None:
    path, clock = tmp_path / "p.json", Clock()
    write(path, '[{"id": "a", "name": "A"}]', 1_000)
    catalogue = FileCatalogue(path, clock=clock)
    write(path, '[{"id": "a", ', 2_000)
    clock.now += 2
    await catalogue.refresh()
    assert catalogue.get("a") is not None
    assert catalogue.error is not None and "not valid JSON" in catalogue.error.message
    write(path, '[{"id": "b", "name": "B"}]', 3_000)
    clock.now += 2
    await catalogue.refresh()
    assert catalogue.get("a") is None and catalogue.get("b") is not None
    assert catalogue.error is None


def test_a_deleted_file_keeps_the_last_good_products(tmp_path: Path) -> None:
    path, clock = tmp_path / "p.csv", Clock()
    write(path, "id,name\na,A\n", 1_000)
    catalogue = FileCatalogue(path, clock=clock)
    path.unlink()
    clock.now += 2
    assert not catalogue.reload_if_changed()
    assert catalogue.get("a") is not None


def test_a_memory_catalogue_keeps_the_first_of_two_products_with_one_id() -> None:
    catalogue = MemoryCatalogue([
        Product("a", "First", "/a", categories=("x",)), Product("a", "Second", "/a"), Product("b", "B", "/b"),
    ])  # fmt: skip
    assert [p.name for p in catalogue.products()] == ["First", "B"]
    assert [p.id for p in catalogue.in_category("x")] == ["a"]
