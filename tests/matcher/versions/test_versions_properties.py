"""Property tests for every scheme: keys form a total order that agrees with sorting, and a bad string
raises InvalidVersion (through the registry) and nothing else.

Maven's own order is not transitive (see ``matcher/versions/maven.py`` and ``test_nontransitive.py``),
so arbitrary strings cannot give it a total order. For Maven the total-order property is checked on
versions of the shape real releases use and that avoid the documented cycles: numbers joined by
``.``, then parts that each start after ``-`` (or at a digit/letter transition) with a qualifier or a
number, optionally followed by ``.number``s — no qualifier directly after a ``.``, which is what meets a
hyphen list as "string versus list" but a shorter version as "versus null". On arbitrary strings Maven
keys must still be antisymmetric, with equality transitive and consistent with the hash.

Packagist is only non-transitive around ``#`` words, which the generated alphabet leaves out; with
``#`` its pairwise comparison must stay antisymmetric, and without it must agree with its tuple rank.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.versions import SCHEMES, InvalidVersion, OsvVersions
from matcher.versions.maven import MavenKey
from matcher.versions.packagist import PackagistKey, compare_parts

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


# Digits weighted towards 0 and 1, where trimming and padding decide.
_numbers = st.sampled_from(["0", "0", "1", "1", "2", "10", "007"])
_qualifiers = st.sampled_from(
    ["alpha", "a", "beta", "b", "m", "milestone", "rc", "cr", "snapshot", "ga", "final", "release",
     "sp", "foo", "jre", "RC", "Final", "SNAPSHOT"]
)  # fmt: skip


@st.composite
def maven_release_shaped(draw: st.DrawFn) -> str:
    """``N(.N)*`` then parts starting after ``-`` or a digit/letter transition (module docstring)."""
    version = ".".join(draw(st.lists(_numbers, min_size=1, max_size=3)))
    for _ in range(draw(st.integers(0, 3))):
        head = draw(st.one_of(_qualifiers, _numbers))
        if head[0].isdigit() or draw(st.booleans()):
            version += "-"
        part = head
        if not head[0].isdigit() and draw(st.booleans()):
            part += draw(_numbers)  # rc1: the number opens a nested list
        part += "".join("." + n for n in draw(st.lists(_numbers, max_size=2)))
        version += part
    return version


def _assert_total_order(keyed: list[tuple[str, Any]]) -> None:
    ordered = sorted(keyed, key=lambda pair: pair[1])
    for (_, low), (_, high) in itertools.pairwise(ordered):
        assert low <= high
    for (_, a), (_, b) in itertools.pairwise(keyed):
        # Trichotomy: exactly one of <, ==, > holds, and comparison never raises across keys.
        assert [a < b, a == b, a > b].count(True) == 1

    def cmp(x: tuple[str, Any], y: tuple[str, Any]) -> int:
        return int(x[1] > y[1]) - int(x[1] < y[1])

    assert [k for _, k in sorted(keyed, key=functools.cmp_to_key(cmp))] == [k for _, k in ordered]
    for (_, a), (_, b), (_, c) in itertools.permutations(keyed, 3):
        if a <= b <= c:
            assert a <= c


@pytest.mark.parametrize("scheme_id", sorted(set(SCHEMES) - {"maven"}))
@settings(max_examples=150, deadline=None)
@given(versions=st.lists(version_like, min_size=2, max_size=12))
def test_keys_are_a_total_order_consistent_with_sorting(scheme_id: str, versions: list[str]) -> None:
    _assert_total_order(_keys(WRAPPERS[scheme_id], versions))


@settings(max_examples=300, deadline=None)
@given(versions=st.lists(maven_release_shaped(), min_size=2, max_size=10))
def test_maven_is_a_total_order_on_release_shaped_versions(versions: list[str]) -> None:
    _assert_total_order(_keys(WRAPPERS["maven"], versions))


def _sign(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


@settings(max_examples=300, deadline=None)
@given(a=version_like, b=version_like, c=version_like)
def test_maven_pairwise_order_is_antisymmetric_and_equality_an_equivalence(a: str, b: str, c: str) -> None:
    ka, kb, kc = (SCHEMES["maven"].key(v) for v in (a, b, c))
    assert isinstance(ka, MavenKey)
    assert _sign(ka, kb) == -_sign(kb, ka)
    assert (ka == kb) == (_sign(ka, kb) == 0) == (ka <= kb and ka >= kb)
    if ka == kb:
        assert hash(ka) == hash(kb)
        assert (ka == kc) == (kb == kc)
        assert _sign(ka, kc) == _sign(kb, kc)


_php_like = st.text(alphabet="0123456789abdeoplvRC.-_+#", min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(a=_php_like, b=_php_like)
def test_packagist_pairwise_is_antisymmetric_and_agrees_with_the_rank(a: str, b: str) -> None:
    try:
        ka, kb = SCHEMES["packagist"].key(a), SCHEMES["packagist"].key(b)
    except InvalidVersion:
        return
    assert isinstance(ka, PackagistKey)
    assert isinstance(kb, PackagistKey)
    pairwise = compare_parts(ka.parts, kb.parts)
    assert pairwise == -compare_parts(kb.parts, ka.parts)
    assert _sign(ka, kb) == pairwise
    if ka == kb:
        assert hash(ka) == hash(kb)
    if not (ka.wild or kb.wild):
        # The fast path: the tuple rank must give exactly PHP's pairwise answer.
        assert _sign(ka.rank, kb.rank) == pairwise


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
