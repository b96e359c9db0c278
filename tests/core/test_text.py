"""The rules for stored text (``core.text``) and the JSON reader's refusal of text no database stores
(``core.jsondoc``): issue 12, items 5 (NUL) and 6 (length limits)."""

from __future__ import annotations

import json

import pytest

from core.jsondoc import JsonDocumentError, JsonTextError, parse_json, unstorable_text
from core.text import (
    ECOSYSTEM_MAX_BYTES,
    NAME_MAX_BYTES,
    PURL_MAX_BYTES,
    VERSION_MAX_BYTES,
    character_problem,
    text_problem,
    truncate_utf8,
    utf8_length,
)

# PostgreSQL's btree entry limit (a third of an 8 kB page, less headers) that the limits must fit.
POSTGRES_BTREE_MAX = 2704


def test_the_limits_fit_together_in_the_widest_index() -> None:
    """package_version is unique by (purl, ecosystem, name, version): all four at their limits, with a
    generous allowance for tuple and varlena headers, still fit one PostgreSQL index entry."""
    widest = PURL_MAX_BYTES + ECOSYSTEM_MAX_BYTES + NAME_MAX_BYTES + VERSION_MAX_BYTES
    assert widest + 4 * 4 + 24 < POSTGRES_BTREE_MAX


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("a\x00b", "key name contains a NUL character (\\u0000)"),
        ("a\ud800", "key name contains a lone surrogate (\\ud800), which is not Unicode text"),
        ("a\tb", "key name contains a control character (\\u0009)"),
        ("a\x7f", "key name contains a control character (\\u007f)"),
        ("é" * 101, "key name is 202 bytes long (UTF-8), more than the limit of 200"),
        ("x" * 201, "key name is 201 bytes long (UTF-8), more than the limit of 200"),
    ],
)
def test_text_problem_names_the_field_and_the_reason(value: str, problem: str) -> None:
    assert text_problem(value, "key name", 200, single_line=True) == problem


def test_text_accepted_as_it_is() -> None:
    assert text_problem("é" * 100, "name", 200, single_line=True) is None
    assert text_problem("line one\nline two\t😀", "impact", 200) is None  # multi-line text may hold them
    assert text_problem("x" * 10_000_000, "details") is None  # no limit asked for
    assert character_problem("\U0001f600", "x") is None  # an astral character is no lone surrogate


def test_byte_lengths_and_truncation_at_a_character_boundary() -> None:
    assert utf8_length("aé😀") == 1 + 2 + 4
    assert truncate_utf8("short", 10) == "short"
    cut = truncate_utf8("é" * 600, PURL_MAX_BYTES)
    assert utf8_length(cut) <= PURL_MAX_BYTES
    assert cut.endswith("…")
    assert cut.startswith("é" * 500)
    assert utf8_length(truncate_utf8("x" * 10_000_000, NAME_MAX_BYTES)) == NAME_MAX_BYTES


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b'{"components": [{"name": "ok"}, {"name": "a\\u0000b"}]}', "components[1].name contains a NUL"),
        (b'{"a": {"k\\u0000": 1}}', "an object key of a contains a NUL"),
        (b'{"odd key": ["\\ud800"]}', '["odd key"][0] contains a lone surrogate (\\ud800)'),
        (b'{"a": "\\uDC00\\uD800"}', "a contains a lone surrogate (\\udc00)"),
        (b'"\\u0000"', "the document contains a NUL"),
        ('{"a": "\\u0000"}'.encode("utf-16"), "a contains a NUL"),  # UTF-16: the escape is other bytes
    ],
)
def test_parse_json_refuses_nul_and_lone_surrogates_naming_the_string(document: bytes, reason: str) -> None:
    with pytest.raises(JsonTextError) as refused:
        parse_json(document)
    assert str(refused.value).startswith(reason)
    # A caller that says "not JSON" for syntax errors says the reason alone: the document is JSON.
    assert refused.value.explain("not JSON") == str(refused.value)


def test_parse_json_reads_what_only_looks_like_it() -> None:
    # A surrogate pair (an emoji escaped by an ensure_ascii writer) and an escaped backslash before
    # "u0000" are ordinary text.
    assert parse_json(b'{"a": "\\ud83d\\ude00", "b": "\\\\u0000"}') == {"a": "😀", "b": "\\u0000"}
    assert parse_json(json.dumps({"a": "é😀"}, ensure_ascii=True)) == {"a": "é😀"}


def test_a_syntax_error_is_explained_as_before() -> None:
    with pytest.raises(JsonDocumentError) as refused:
        parse_json(b"{")
    assert not isinstance(refused.value, JsonTextError)
    assert refused.value.explain("not JSON").startswith("not JSON: Expecting property name")


def test_unstorable_text_walks_documents_of_any_depth() -> None:
    deep: object = "a\x00"
    for _ in range(5000):  # deeper than the interpreter's recursion limit: the walk is iterative
        deep = [deep]
    found = unstorable_text(deep)
    assert found is not None
    assert found.where.startswith("…")
    assert found.where.endswith("[0][0]")
    assert unstorable_text({"a": [1, 2.5, None, True, {"b": "fine"}]}) is None
