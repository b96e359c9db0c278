"""``core.purls.split_plain`` reads plain purls as packageurl-python does, and claims nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packageurl import PackageURL

from core.purls import PlainPurl, split_plain

# Types packageurl-python normalizes no further than decoding: their parts compare one to one.
UNNORMALIZED_TYPES = ["maven", "golang", "cargo", "gem", "generic", "swift"]


def as_packageurl(plain: PlainPurl) -> tuple[object, ...]:
    return (
        plain.type,
        "/".join(plain.namespace) or None,
        plain.name,
        plain.version,
        dict(sorted(dict(plain.qualifiers).items())),  # a repeated key: the last value
        None,
    )


@pytest.mark.parametrize(
    ("purl", "expected"),
    [
        ("pkg:pypi/django@4.2.1", PlainPurl("pypi", (), "django", "4.2.1", ())),
        ("pkg:npm/@angular/core@17.0.0", PlainPurl("npm", ("@angular",), "core", "17.0.0", ())),
        ("pkg:npm/%40angular/core@17.0.0", PlainPurl("npm", ("@angular",), "core", "17.0.0", ())),
        (
            "pkg:Maven/org.apache/log4j-core@2.14.1?Type=jar&classifier=sources",
            PlainPurl(
                "maven", ("org.apache",), "log4j-core", "2.14.1", (("type", "jar"), ("classifier", "sources"))
            ),
        ),
        ("pkg:golang/github.com/org/mod", PlainPurl("golang", ("github.com", "org"), "mod", None, ())),
        (
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?distro=debian-12",
            PlainPurl("deb", ("debian",), "libssl3", "3.0.11-1~deb12u2", (("distro", "debian-12"),)),
        ),
    ],
)
def test_plain_purls_split(purl: str, expected: PlainPurl) -> None:
    assert split_plain(purl) == expected


@pytest.mark.parametrize(
    "purl",
    [
        "pkg:npm/@scope@1.0",  # scope without a name
        "pkg:npm/@scope/a/b@1.0",  # npm takes one name after the scope
        "pkg:maven/@scope/name",  # a leading "@" outside npm
        "pkg:deb/debian/bsdutils@1%3A2.36.1-8",  # other percent-escapes
        "pkg:deb/debian/bsdutils@1:2.36.1-8",
        "pkg:pypi/x@1#sub",
        "pkg:pypi/x@1?k",
        "pkg:pypi/x@1?1k=v",
        "pkg:pypi/x@",
        "pkg:pypi//x@1",
        "pkg:pypi/x y@1",
        "pkg:1pypi/x@1",
        "PKG:pypi/x@1",
    ],
)
def test_other_purls_are_left_to_packageurl(purl: str) -> None:
    assert split_plain(purl) is None


_plain_segment = st.text(alphabet="abzAZ09._~+-", min_size=1, max_size=5)
_odd_segment = st.text(alphabet="abZ09.+-@%:/ ", max_size=5)
_segment = st.one_of(_plain_segment, _plain_segment, _plain_segment, _odd_segment)


@st.composite
def purls(draw: st.DrawFn, types: list[str]) -> str:
    type_ = draw(st.sampled_from([*types, *(t.upper() for t in types), "1x", ""]))
    scope = draw(st.sampled_from(["", "", "@scope/", "%40scope/", "%40", "@"]))
    path = "/".join(draw(st.lists(_segment, min_size=1, max_size=3)))
    version = draw(st.sampled_from(["", "@1.0", "@V1.0+b", "@", "@a@b", "@1%2B2"]))
    keys = st.sampled_from(["distro", "Arch", "type", "1k", "", "a b"])
    pairs = draw(st.lists(st.tuples(keys, _segment), max_size=3))
    query = "?" + "&".join(f"{k}={v}" for k, v in pairs) if pairs else ""
    return f"pkg:{type_}/{scope}{path}{version}{query}"


@settings(max_examples=2000)
@given(purls(UNNORMALIZED_TYPES))
def test_split_parts_are_packageurls_parts(purl: str) -> None:
    plain = split_plain(purl)
    if plain is not None:
        assert as_packageurl(plain) == tuple(PackageURL.from_string(purl))


@settings(max_examples=2000)
@given(purls(["npm", "pypi", "huggingface", "deb", "oci"]))
def test_what_splits_packageurl_reads(purl: str) -> None:
    if split_plain(purl) is not None:
        PackageURL.from_string(purl)  # never refuses it
