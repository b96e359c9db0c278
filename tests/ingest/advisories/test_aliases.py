"""Alias closure and stable group keys (ingest/advisories/aliases.py)."""

from __future__ import annotations

import itertools

from core.advisories import Advisory
from ingest.advisories.aliases import alias_groups, group_index, group_key


def adv(id_: str, *aliases: str, related: tuple[str, ...] = (), withdrawn: str | None = None) -> Advisory:
    return Advisory(
        id=id_,
        source="osv",
        modified="2024-01-01T00:00:00Z",
        aliases=aliases,
        related=related,
        withdrawn=withdrawn,
    )


RECORDS = [
    adv("PYSEC-2021-1", "CVE-2021-10000", "GHSA-aaaa-aaaa-aaaa"),
    adv("GHSA-aaaa-aaaa-aaaa", "CVE-2021-9999"),  # transitively joins two CVEs
    adv("GHSA-bbbb-bbbb-bbbb", related=("CVE-2021-10000",)),  # related never joins
    adv("RUSTSEC-2020-1", "GHSA-cccc-cccc-cccc"),
    adv("OSV-2020-5"),
    adv("GO-2024-1", "CVE-2024-1", withdrawn="2024-02-01T00:00:00Z"),  # withdrawn: no alias edges
]


def test_closure_follows_aliases_transitively_but_not_related_or_withdrawn_edges() -> None:
    index = group_index(alias_groups(RECORDS))
    assert index["PYSEC-2021-1"] == index["CVE-2021-9999"] == index["GHSA-aaaa-aaaa-aaaa"]
    assert index["GHSA-bbbb-bbbb-bbbb"] == "GHSA-bbbb-bbbb-bbbb"
    assert index["GO-2024-1"] == "GO-2024-1"
    assert "CVE-2024-1" not in index
    assert index["RUSTSEC-2020-1"] == "GHSA-cccc-cccc-cccc"


def test_key_order_cve_numeric_then_ghsa_then_pysec_then_other() -> None:
    assert group_key(["CVE-2021-10000", "CVE-2021-9999", "GHSA-x"]) == "CVE-2021-9999"
    assert group_key(["CVE-2022-1", "CVE-2021-50000"]) == "CVE-2021-50000"
    assert group_key(["PYSEC-1", "GHSA-z", "A-1"]) == "GHSA-z"
    assert group_key(["PYSEC-1", "A-1"]) == "PYSEC-1"
    assert group_key(["OSV-2", "GO-1"]) == "GO-1"


def test_groups_do_not_depend_on_arrival_order() -> None:
    expected = alias_groups(RECORDS)
    for order in itertools.islice(itertools.permutations(RECORDS), 0, 720, 37):
        assert alias_groups(order) == expected


def test_every_id_is_in_exactly_one_group() -> None:
    groups = alias_groups(RECORDS)
    members = [m for g in groups for m in g.ids]
    assert len(members) == len(set(members))
    assert all(g.key in g.ids for g in groups)
