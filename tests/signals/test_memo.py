"""The providers' short memos: bounded, and nothing is answered after its time."""

from __future__ import annotations

import time

import pytest

from smalldata.signals import memo
from smalldata.signals.memo import MISSING, ShortMemo


def test_a_stored_value_is_answered_until_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(memo.time, "monotonic", lambda: clock[0])
    kept: ShortMemo[str, str | None] = ShortMemo(10, ttl=60)
    kept.put("203.0.113.9", None)

    clock[0] = 159.0
    assert kept.get("203.0.113.9") is None
    clock[0] = 161.0
    assert kept.get("203.0.113.9") is MISSING
    assert len(kept) == 0


def test_a_full_memo_forgets_its_oldest_entry_first() -> None:
    kept: ShortMemo[int, int] = ShortMemo(3, ttl=60)
    for key in range(5):
        kept.put(key, key * 10)

    assert [kept.get(key) for key in range(5)] == [MISSING, MISSING, 20, 30, 40]
    assert len(kept) == 3


def test_storing_a_key_again_refreshes_it_without_growing() -> None:
    kept: ShortMemo[str, int] = ShortMemo(2, ttl=60)
    kept.put("a", 1)
    kept.put("a", 2)
    kept.put("b", 3)

    assert (kept.get("a"), kept.get("b"), len(kept)) == (2, 3, 2)


def test_clear_forgets_everything() -> None:
    kept: ShortMemo[str, int] = ShortMemo(2, ttl=60)
    kept.put("a", 1)
    kept.clear()

    assert kept.get("a") is MISSING


def test_monotonic_clock_is_what_expiry_uses() -> None:
    kept: ShortMemo[str, int] = ShortMemo(2, ttl=0.01)
    kept.put("a", 1)
    time.sleep(0.02)

    assert kept.get("a") is MISSING
