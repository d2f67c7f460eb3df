"""Named lists beside the rules: ``lists:`` in a rule file, ``in_list: NAME`` in a condition."""

from __future__ import annotations

from pathlib import Path

from tests.rules.helpers import decide, problems_of, write_rules

VIP_IDS = [str(1000 + n) for n in range(5000)]  # thousands of customer ids

RULES = """
rules:
  - id: vip
    when: {user.id: {in_list: vip}}
    then: {greeting: "Welcome back, VIP"}
  - id: zone
    when: {user.orders: {gte: 1}, page.category: {not_in_list: sold-out}}
    then: {tag: shopper}
  - id: campaign
    when: {basket.skus: {in_list: campaign-skus}}
    then: {banner: {slot: basket, text: Campaign}}
"""


def _folder(tmp_path: Path) -> Path:
    lists = "lists:\n  vip: [" + ", ".join(VIP_IDS) + "]\n  sold-out: [sofa, lamp]\n  campaign-skus: [7, SKU-9]\n"
    write_rules(tmp_path, lists, "lists.yaml")
    return write_rules(tmp_path, RULES)


def test_a_value_in_a_named_list_of_thousands_matches(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    assert decide(folder, {"user.id": "5999"}).greeting == "Welcome back, VIP"
    assert decide(folder, {"user.id": "6000"}).greeting is None


def test_not_in_list_holds_for_a_known_value_outside_the_list(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    assert decide(folder, {"user.orders": 2, "page.category": "chair"}).tags == ["shopper"]
    assert decide(folder, {"user.orders": 2, "page.category": "sofa"}).tags == []


def test_a_list_signal_is_in_a_named_list_when_one_of_its_items_is(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    assert "basket" in decide(folder, {"basket.skus": ["3", "7"]}).banners
    assert "basket" not in decide(folder, {"basket.skus": ["3"]}).banners


def test_a_missing_list_is_a_check_error_at_the_rules_line(tmp_path: Path) -> None:
    write_rules(tmp_path, "lists:\n  vip: [a]\n", "lists.yaml")
    write_rules(tmp_path, "rules:\n  - id: r\n    when: {user.id: {in_list: vpi}}\n    then: {greeting: hi}\n")
    assert problems_of(tmp_path) == [f"{tmp_path / 'rules.yaml'}:3:31: no list named 'vpi' — did you mean 'vip'?"]


def test_a_list_named_twice_is_a_check_error(tmp_path: Path) -> None:
    write_rules(tmp_path, "lists:\n  vip: [a]\n", "a.yaml")
    write_rules(tmp_path, "lists:\n  vip: [b]\n", "b.yaml")
    assert problems_of(tmp_path) == [f"{tmp_path / 'b.yaml'}:2:3: duplicate list 'vip' (first defined at "
                                     f"{tmp_path / 'a.yaml'}:2:3)"]
