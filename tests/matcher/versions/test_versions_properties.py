"""Property tests for every scheme: keys form a total order that agrees with sorting, and a bad string
raises InvalidVersion (through the registry) and nothing else."""

from __future__ import annotations

import contextlib
import functools
import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.versions import SCHEMES, InvalidVersion, OsvVersions

# Version-looking strings: digits, letters and every separator the schemes care about.
_ALPHABET = "0123456789abcprvxz.-_+~^:ABR"
version_like = st.text(alphabet=_ALPHABET, min_size=1, max_size=14)
any_text = st.text(max_size=20)

WRAPPERS = {scheme_id: OsvVersions(scheme_id) for scheme_id in SCHEMES}


def _keys(scheme: OsvVersions, versions: list[str]) -> list[tuple[str, Any]]:
    out = []
    for version in versions:
        try:
            out.append((version, scheme.key(version)))
        except InvalidVersion:
            continue
    return out


@pytest.mark.parametrize("scheme_id", sorted(SCHEMES))
@settings(max_examples=150, deadline=None)
@given(versions=st.lists(version_like, min_size=2, max_size=12))
def test_keys_are_a_total_order_consistent_with_sorting(scheme_id: str, versions: list[str]) -> None:
    keyed = _keys(WRAPPERS[scheme_id], versions)
    ordered = sorted(keyed, key=lambda pair: pair[1])
    for (_, low), (_, high) in itertools.pairwise(ordered):
        assert low <= high
    for (_, a), (_, b) in itertools.pairwise(keyed):
        # Trichotomy: exactly one of <, ==, > holds, and comparison never raises across keys.
        assert [a < b, a == b, a > b].count(True) == 1

    def cmp(x: tuple[str, Any], y: tuple[str, Any]) -> int:
        return int(x[1] > y[1]) - int(x[1] < y[1])

    assert [k for _, k in sorted(keyed, key=functools.cmp_to_key(cmp))] == [k for _, k in ordered]


@pytest.mark.parametrize("scheme_id", sorted(SCHEMES))
@settings(max_examples=200, deadline=None)
@given(text=any_text)
def test_any_string_gives_a_key_or_invalid_version(scheme_id: str, text: str) -> None:
    with contextlib.suppress(InvalidVersion):
        WRAPPERS[scheme_id].key(text)


@pytest.mark.parametrize("scheme_id", sorted(SCHEMES))
@pytest.mark.parametrize("bad", ["", " ", "1.0 beta", "1.0\n", "\t1"])
def test_whitespace_and_empty_are_invalid_everywhere(scheme_id: str, bad: str) -> None:
    with pytest.raises(InvalidVersion):
        WRAPPERS[scheme_id].key(bad)


@pytest.mark.parametrize("scheme_id", sorted(SCHEMES))
@given(version=version_like)
@settings(max_examples=100, deadline=None)
def test_zero_sorts_first_in_osv_order(scheme_id: str, version: str) -> None:
    scheme = WRAPPERS[scheme_id]
    try:
        key = scheme.key(version)
    except InvalidVersion:
        return
    assert scheme.key("0") <= key
