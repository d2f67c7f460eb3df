"""The rules folder behind the editor: an edit is checked with the other files, and saved only when it checks."""

from __future__ import annotations

from pathlib import Path

from smalldata.settings import load_settings
from smalldata.tools.console.workspace import Workspace, digest
from tests.console.helpers import CONFIG, copy_rules

SETTINGS = load_settings(CONFIG)


def workspace(tmp_path: Path) -> Workspace:
    return Workspace(copy_rules(tmp_path / "rules"), SETTINGS)


def test_names_are_the_rule_files_within_the_folder(tmp_path: Path) -> None:
    names = workspace(tmp_path).names()
    assert "greetings.yaml" in names and "segments.yaml" in names
    assert "README.md" not in names


def test_a_name_outside_the_folder_is_not_a_rule_file(tmp_path: Path) -> None:
    space = workspace(tmp_path)
    for name in ("../smalldata.yaml", "/etc/passwd", "greetings.yaml/..", "nope.yaml"):
        try:
            space.path(name)
        except LookupError:
            continue
        raise AssertionError(f"{name} was accepted")


def test_an_unsaved_edit_is_checked_with_the_other_files_and_named_like_check_names_it(tmp_path: Path) -> None:
    space = workspace(tmp_path)
    text = space.read("greetings.yaml").replace("when: {visitor.returning: false}", "when: {vistor.returning: false}")
    checked = space.check_text("greetings.yaml", text)
    assert checked.ruleset is None
    [error] = checked.errors
    line = text.splitlines().index("    when: {vistor.returning: false}") + 1
    assert str(error) == (f"{space.root / 'greetings.yaml'}:{line}:12: unknown signal 'vistor.returning' "
                          "— did you mean 'visitor.returning'?")


def test_an_edit_may_use_a_segment_of_another_file(tmp_path: Path) -> None:
    space = workspace(tmp_path)
    text = space.read("greetings.yaml").replace("when: {visitor.returning: false}", "when: {segment: big-basket}")
    assert space.check_text("greetings.yaml", text).errors == []


def test_saving_an_edit_with_an_error_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    space = workspace(tmp_path)
    before = space.read("chat.yaml")
    saved = space.save("chat.yaml", before.replace("after_seconds: 20", "after_seconds: soon"), digest(before))
    assert not saved.written
    assert (saved.blocking[0].position.line, saved.blocking[0].position.col) == (10, 24)  # after_seconds: soon
    assert space.read("chat.yaml") == before


def test_saving_an_edit_that_checks_writes_it_with_unix_line_ends(tmp_path: Path) -> None:
    space = workspace(tmp_path)
    before = space.read("chat.yaml")
    edited = before.replace("after_seconds: 20", "after_seconds: 10").replace("\n", "\r\n")
    saved = space.save("chat.yaml", edited, digest(before))
    assert saved.written
    assert space.read("chat.yaml") == before.replace("after_seconds: 20", "after_seconds: 10")
    assert not [p for p in space.root.iterdir() if p.name.startswith(".") and p.name != ".history"]  # no temporary file


def test_removing_a_segment_another_file_uses_is_not_saved(tmp_path: Path) -> None:
    space = workspace(tmp_path)
    before = space.read("segments.yaml")
    saved = space.save("segments.yaml", before.replace("big-basket:", "large-basket:"), digest(before))
    assert not saved.written
    assert {Path(p.position.file).name for p in saved.blocking} == {"chat.yaml"}


def test_an_error_another_file_already_had_does_not_stop_a_good_save(tmp_path: Path) -> None:
    space = workspace(tmp_path)
    broken = space.root / "stores.yaml"
    broken.write_text(broken.read_text().replace("geo.nearest_store", "geo.nearest_shop"))
    before = space.read("chat.yaml")
    saved = space.save("chat.yaml", before.replace("after_seconds: 20", "after_seconds: 10"), digest(before))
    assert saved.written


def test_a_file_changed_on_disk_since_it_was_opened_is_not_overwritten(tmp_path: Path) -> None:
    space = workspace(tmp_path)
    opened = space.read("chat.yaml")
    (space.root / "chat.yaml").write_text(opened.replace("after_seconds: 20", "after_seconds: 30"))
    saved = space.save("chat.yaml", opened.replace("after_seconds: 20", "after_seconds: 10"), digest(opened))
    assert saved.conflict and not saved.written
    assert "after_seconds: 30" in space.read("chat.yaml")


def test_a_new_file_starts_without_rules_and_checks(tmp_path: Path) -> None:
    space = workspace(tmp_path)
    space.create("campaigns.yaml", "Campaigns")
    assert "campaigns.yaml" in space.names()
    assert space.check().errors == []


def test_a_new_file_needs_a_plain_new_name(tmp_path: Path) -> None:
    space = workspace(tmp_path)
    for name in ("greetings.yaml", "../x.yaml", "Big Name.yaml", "x.txt"):
        try:
            space.create(name, "x")
        except LookupError:
            continue
        raise AssertionError(f"{name} was created")
