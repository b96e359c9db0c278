"""The rules for a system's owner, tags and criticality."""

from __future__ import annotations

import pytest

from core.systems import (
    MAX_TAGS,
    OWNER_MAX,
    criticality_problem,
    normalized_tags,
    owner_problem,
    tag_problem,
    tags_problem,
)


@pytest.mark.parametrize("owner", ["", "team-payments", "ops@example.com", "Zahlungen & Co", "ä" * OWNER_MAX])
def test_good_owners(owner: str) -> None:
    assert owner_problem(owner) is None


@pytest.mark.parametrize(
    ("owner", "problem"),
    [
        ("a" * (OWNER_MAX + 1), "at most 200"),
        ("two\nlines", "control characters"),
        ("nul\x00", "control characters"),
        ("lone \ud800", "control characters"),
    ],
)
def test_bad_owners(owner: str, problem: str) -> None:
    assert problem in (owner_problem(owner) or "")


@pytest.mark.parametrize("tag", ["pci", "team:payments", "region/eu-west-1", "v1.2_x", "0", "a" * 64])
def test_good_tags(tag: str) -> None:
    assert tag_problem(tag) is None


@pytest.mark.parametrize("tag", ["", "PCI", "-lead", ":x", "a b", "a" * 65, "é", "x\n"])
def test_bad_tags(tag: str) -> None:
    assert tag_problem(tag) is not None


def test_a_set_of_tags() -> None:
    assert normalized_tags(["b", "a", "b"]) == ["a", "b"]
    assert tags_problem([f"t{i}" for i in range(MAX_TAGS)] + ["t0"]) is None  # duplicates count once
    assert "at most 32 tags" in (tags_problem([f"t{i}" for i in range(MAX_TAGS + 1)]) or "")
    assert "tag 'Bad'" in (tags_problem(["ok", "Bad"]) or "")


def test_criticality() -> None:
    assert criticality_problem("critical") is None
    assert "one of low, medium, high, critical" in (criticality_problem("urgent") or "")
