"""The visitor cookie: compact, signed, rotated keys, and harmless when forged or broken."""

from __future__ import annotations

import base64
import json
import zlib
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smalldata.state import CookieCodec, CookieStore, VisitorState, cookie_header
from smalldata.state.codec import _PURPOSE, COMPRESS_OVER

from .helpers import full_state, make_settings

KEY = b"current-key-0123456789"
OLD_KEY = b"previous-key-0123456789"


def test_round_trip_gives_back_the_same_data() -> None:
    codec = CookieCodec([KEY])
    data = {"i": "abcdefgh1234", "h": {"p": ["sku-1", "sku-2"]}, "n": 3}

    assert codec.loads(codec.dumps(data)) == data


def test_value_is_cookie_safe_ascii_with_a_version_prefix() -> None:
    value = CookieCodec([KEY]).dumps({"i": "abcdefgh1234", "s": ["æøå søgning", "naïve"]})

    assert value.startswith("v1.")
    assert value.isascii()
    assert not set(value) & set(' ;,"\\=')


def test_state_round_trips_through_the_cookie(now: datetime) -> None:
    state = full_state(now)
    codec = CookieCodec([KEY])

    restored = VisitorState.from_json(codec.loads(codec.dumps(state.to_json())))

    assert restored == state


def test_full_state_cookie_stays_well_under_one_kilobyte(now: datetime) -> None:
    header = CookieStore(make_settings()).state_cookie(full_state(now), secure=True)

    assert len(header.split(";")[0]) < 900


def test_full_history_alone_costs_under_half_a_kilobyte(now: datetime) -> None:
    state = VisitorState.new(now)
    state.touch(now)
    for i in range(60):
        state.record_page(f"sku-{100000 + i}", f"women/shoes-{i}", f"red shoes size {i}")

    header = CookieStore(make_settings()).state_cookie(state, secure=True)

    assert len(header.split(";")[0]) < 512


def _flip(value: str, index: int) -> str:
    char = value[index]
    return value[:index] + ("A" if char != "A" else "B") + value[index + 1 :]


def _signed(payload: bytes, key: bytes = KEY) -> str:
    """A correctly signed cookie around any payload, to test what lies past the signature."""
    import hashlib
    import hmac

    signed = "v1." + base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    mac = hmac.new(key, _PURPOSE + signed.encode(), hashlib.sha256).digest()[:16]
    return signed + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


GOOD = CookieCodec([KEY]).dumps({"i": "abcdefgh1234", "n": 2})


@pytest.mark.parametrize("key", [KEY, b"k" * 64, b"a-very-long-signing-key-" * 5], ids=["short", "block", "long"])
def test_signature_is_standard_hmac_sha256_with_any_key_length(key: bytes) -> None:
    codec = CookieCodec([key])
    value = codec.dumps({"i": "abcdefgh1234"})

    assert value == _signed(base64.urlsafe_b64decode(value.split(".")[1] + "=="), key)
    assert codec.loads(_signed(b'j{"n":1}', key)) == {"n": 1}


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param(_flip(GOOD, 5), id="payload-tampered"),
        pytest.param(_flip(GOOD, len(GOOD) - 3), id="signature-tampered"),
        pytest.param(GOOD[: len(GOOD) // 2], id="truncated"),
        pytest.param(GOOD.rsplit(".", 1)[0], id="signature-missing"),
        pytest.param(GOOD + "AAAA", id="signature-too-long"),
        pytest.param("v0" + GOOD[2:], id="old-version"),
        pytest.param('{"i":"abcdefgh1234"}', id="unsigned-json"),
        pytest.param(CookieCodec([b"somebody-elses-key-0123"]).dumps({"i": "x"}), id="foreign-key"),
        pytest.param(GOOD + "x" * 5000, id="huge"),
        pytest.param(GOOD.replace("v1.", "v1.é"), id="non-ascii"),
        pytest.param("v1.!!!!.????", id="not-base64"),
        pytest.param(_signed(b"x{}"), id="unknown-marker"),
        pytest.param(_signed(b"j[1, 2]"), id="json-not-an-object"),
        pytest.param(_signed(b"j{not json"), id="broken-json"),
        pytest.param(_signed(b"j\xff\xfe"), id="not-utf8"),
        pytest.param(_signed(b"z" + b"garbage"), id="broken-deflate"),
        pytest.param(_signed(b"z" + zlib.compress(b"{}" * 5, wbits=-15)[:-2]), id="deflate-cut"),
        pytest.param(
            _signed(b"z" + zlib.compress(b'{"a":"' + b"0" * 200_000 + b'"}', 9, wbits=-15)),
            id="decompression-bomb",
        ),
    ],
)
def test_bad_cookie_reads_as_nothing(value: str) -> None:
    assert CookieCodec([KEY]).loads(value) is None


@given(st.text(max_size=300) | st.from_regex(r"v1\.[A-Za-z0-9_\-]{0,80}\.[A-Za-z0-9_\-]{0,30}"))
def test_any_cookie_value_reads_as_data_or_nothing_never_an_error(value: str) -> None:
    assert CookieCodec([KEY]).loads(value) is None


@given(st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=20), max_size=8))
def test_any_json_object_round_trips(data: dict[str, object]) -> None:
    codec = CookieCodec([KEY])

    assert codec.loads(codec.dumps(data)) == data


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=14),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)
_STATE_LIKE = st.fixed_dictionaries(
    {"i": st.just("abcdefgh1234") | _JSON, "f": st.integers(min_value=-5, max_value=2**41) | _JSON},
    optional={key: _JSON for key in "nlspqtchmxu"},
)


@given(_STATE_LIKE)
def test_any_decoded_data_is_a_visitor_or_nothing(data: dict[str, object]) -> None:
    state = VisitorState.from_json(data)

    if state is not None:  # whatever was accepted can be stored again
        assert VisitorState.from_json(state.to_json()) == state


def test_a_new_key_signs_and_the_old_one_still_verifies() -> None:
    old_cookie = CookieCodec([OLD_KEY]).dumps({"i": "abcdefgh1234"})
    rotated = CookieCodec([KEY, OLD_KEY])

    assert rotated.loads(old_cookie) == {"i": "abcdefgh1234"}
    assert CookieCodec([KEY]).loads(rotated.dumps({"n": 1})) == {"n": 1}


def test_a_retired_key_no_longer_verifies() -> None:
    old_cookie = CookieCodec([OLD_KEY]).dumps({"i": "abcdefgh1234"})

    assert CookieCodec([KEY]).loads(old_cookie) is None


def test_signature_depends_on_the_whole_payload() -> None:
    codec = CookieCodec([KEY])
    one, two = codec.dumps({"n": 1}), codec.dumps({"n": 2})

    swapped = one.rsplit(".", 1)[0] + "." + two.rsplit(".", 1)[1]

    assert codec.loads(swapped) is None


def test_large_state_is_compressed() -> None:
    data = {"h": {"p": [f"sku-{i:06d}" for i in range(80)]}}
    assert len(json.dumps(data)) > COMPRESS_OVER

    value = CookieCodec([KEY]).dumps(data)

    assert len(value) < len(json.dumps(data))


def test_small_state_is_stored_without_compression() -> None:
    # deflating the usual state (a few hundred bytes) costs more time (~8 µs) than the bytes it saves are worth
    data = {"h": {"p": [f"sku-{i:06d}" for i in range(40)]}}

    value = CookieCodec([KEY]).dumps(data)

    assert base64.urlsafe_b64decode(value.split(".")[1] + "==")[:1] == b"j"
    assert CookieCodec([KEY]).loads(value) == data


def test_compressed_cookies_written_before_still_read() -> None:
    data = {"i": "abcdefgh1234", "h": {"p": [f"sku-{i:06d}" for i in range(12)]}}
    deflater = zlib.compressobj(6, zlib.DEFLATED, -11, 4)

    value = _signed(b"z" + deflater.compress(json.dumps(data).encode()) + deflater.flush())

    assert CookieCodec([KEY]).loads(value) == data


@pytest.mark.parametrize("number", [2**63, -(2**63) - 1, 10**30, 2**40 + 1])
def test_big_integers_come_back_exactly(number: int) -> None:
    codec = CookieCodec([KEY])

    assert codec.loads(codec.dumps({"n": number, "m": [number, "x"]})) == {"n": number, "m": [number, "x"]}


@pytest.mark.parametrize(
    ("secure", "expected"),
    [
        pytest.param(True, "sd_visitor=v; Path=/; Max-Age=600; HttpOnly; SameSite=Lax; Secure", id="https"),
        pytest.param(False, "sd_visitor=v; Path=/; Max-Age=600; HttpOnly; SameSite=Lax", id="http"),
    ],
)
def test_cookie_header_attributes(secure: bool, expected: str) -> None:
    assert cookie_header("sd_visitor", "v", max_age=600, secure=secure) == expected


def test_store_cookie_lifetime_comes_from_settings(now: datetime) -> None:
    store = CookieStore(make_settings(max_age_days=30))

    header = store.state_cookie(VisitorState.new(now), secure=False)

    assert f"Max-Age={30 * 86400}" in header


@pytest.mark.parametrize("value", [float("inf"), -float("inf"), None, 1.5, "æøå\u2028", True])
def test_odd_json_values_come_back_as_they_went_in(value: object) -> None:
    codec = CookieCodec([KEY])

    assert codec.loads(codec.dumps({"v": value, "l": [value]})) == {"v": value, "l": [value]}
