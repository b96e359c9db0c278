"""Cursors of keyset pagination: a round trip, and every malformed or foreign cursor refused by name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InputError
from core.paging import decode_cursor, encode_cursor

_values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=40), st.floats(allow_nan=False))


@given(st.lists(_values, max_size=5))
def test_round_trip(key: list[object]) -> None:
    cursor = encode_cursor("exposures", "sla_due", key)  # type: ignore[arg-type]
    assert decode_cursor(cursor, "exposures", "sla_due", len(key)) == tuple(key)
    assert all(c.isalnum() or c in "-_" for c in cursor)


@pytest.mark.parametrize("cursor", ["", "%%%", "bm90IGpzb24", "e30", "WzEsMl0", "x" * 5000])
def test_garbage_refused_naming_the_parameter(cursor: str) -> None:
    with pytest.raises(InputError) as caught:
        decode_cursor(cursor, "exposures", "sla_due", 2)
    assert caught.value.source == "cursor"


def test_cursor_of_another_list_or_sort_or_arity_refused() -> None:
    cursor = encode_cursor("systems", "name", ["shop-web", 4])
    for kind, sort, arity in (("exposures", "name", 2), ("systems", "last_seen", 2), ("systems", "name", 3)):
        with pytest.raises(InputError, match="cursor"):
            decode_cursor(cursor, kind, sort, arity)


def test_only_json_scalars_encode() -> None:
    with pytest.raises(TypeError):
        encode_cursor("systems", "name", [object()])  # type: ignore[list-item]
