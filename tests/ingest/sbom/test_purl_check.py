"""The readers' purl check: ``purl_version`` answers as packageurl-python does, only faster for plain purls.

A component's skip reason (``invalid-purl``, ``no-version``) and, when the SBOM gives no version field,
its version come from this check; packageurl-python's ``PackageURL.from_string`` is the reference.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packageurl import PackageURL

from ingest.sbom import common
from ingest.sbom.common import purl_version, text


def reference(purl: str) -> tuple[bool, str | None]:
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError:
        return False, None
    return True, text(parsed.version)


PLAIN = [
    "pkg:pypi/django@4.2.1",
    "pkg:npm/lodash@4.17.21",
    "pkg:npm/@angular/core@17.0.0",
    "pkg:npm/%40angular/core@17.0.0",
    "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar",
    "pkg:golang/github.com/org/mod@v1.2.3",
    "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
    "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18.4",
    "pkg:rpm/almalinux/openssl@3.0.7-24.el9?arch=x86_64&distro=almalinux-9.3",
    "pkg:cargo/serde@1.0.190",
    "pkg:oci/Shop@SHA256-ABC",
    "pkg:huggingface/Org/Model@ABCDEF",
    "pkg:PyPI/Django@4.2",
    "pkg:generic/thing",
]

TRICKY = [
    "pkg:maven/@scope/name@1.0",  # a leading "@" outside npm
    "pkg:npm/@scope@1.0",  # a scope and no name
    "pkg:npm/@scope/a/b@1.0",  # npm: one name after the scope
    "pkg:maven/@scope/name",  # the leading "@" taken as the version separator
    "pkg:npm/%40scope/a/b@1.0",
    "pkg:npm/%40/b@1.0",
    "pkg:npm/%20@1.0",
    "pkg:deb/debian/bsdutils@1:2.36.1-8?distro=debian-11",
    "pkg:deb/debian/bsdutils@1%3A2.36.1-8?distro=debian-11",
    "pkg:pypi/x@1?=v",
    "pkg:pypi/x@1?1k=v",
    "pkg:pypi/x@1?k",
    "pkg:pypi/x@1?k=",
    "pkg:pypi/x@1#sub/path",
    "pkg:pypi/x@",
    "pkg:pypi/@1",
    "pkg:/x@1",
    "pkg:1type/x@1",
    "pkg:-type/x@1",
    "pkg:pypi",
    "pkg:pypi/",
    "pkg://pypi/x@1",
    "pkg:pypi//x@1",
    "pkg:pypi/x//y@1",
    "PKG:pypi/x@1",
    "npm/x@1",
    "pkg:pypi/a b@1",
    "pkg:pypi/x@1.0@2.0",
    "pkg:OCI/x@ABC",
]


@pytest.mark.parametrize("purl", PLAIN + TRICKY)
def test_known_purls_answer_as_packageurl_does(purl: str) -> None:
    assert purl_version(purl) == reference(purl)


@pytest.mark.parametrize("purl", PLAIN)
def test_plain_purls_are_decided_without_packageurl(purl: str, monkeypatch: pytest.MonkeyPatch) -> None:
    class Unused:
        @staticmethod
        def from_string(purl: str) -> PackageURL:
            raise AssertionError(f"{purl} went to packageurl-python")

    expected = reference(purl)
    monkeypatch.setattr(common, "PackageURL", Unused)
    assert purl_version(purl) == expected


_UNRESERVED = "abzAZ09._~+-"
_plain = st.text(alphabet=_UNRESERVED, min_size=1, max_size=6)
_odd = st.text(alphabet=_UNRESERVED + "@%:/ ", min_size=0, max_size=6)
# Three plain segments for one odd one: most draws are plain purls, the rest vary one thing.
_segment = st.one_of(_plain, _plain, _plain, _odd)
_key = st.one_of(
    st.sampled_from(["arch", "distro", "type", "Epoch"]), st.text(alphabet="aZ09._-%= ", max_size=4)
)


@st.composite
def purl_like(draw: st.DrawFn) -> str:
    """Mostly plain purls, with every character that changes how packageurl-python reads one."""
    scheme = draw(st.sampled_from(["pkg:"] * 6 + ["pkg:/", "PKG:", "pkg", ""]))
    type_ = draw(
        st.sampled_from(
            ["npm", "npm", "pypi", "maven", "oci", "huggingface", "HuggingFace", "NPM", "1x", "-x", ""]
        )
    )
    scope = draw(st.sampled_from(["", "", "", "@scope/", "%40scope/", "@", "%40", "%40/"]))
    path = "/".join(draw(st.lists(_segment, min_size=0, max_size=3)))
    version = draw(st.sampled_from(["@1.0", "@V1.0-RC1", "@x", "", "@", "@1:2", "@a@b", "@1%2B2"]))
    pairs = draw(st.lists(st.tuples(_key, _segment), max_size=3))
    with_query = bool(pairs) or draw(st.booleans())  # "?" alone too
    query = ("?" + "&".join(f"{k}={v}" for k, v in pairs)) if with_query else ""
    fragment = draw(st.sampled_from(["", "", "", "#sub", "#"]))
    return f"{scheme}{type_}/{scope}{path}{version}{query}{fragment}"


@settings(max_examples=3000)
@given(purl_like())
def test_generated_purls_answer_as_packageurl_does(purl: str) -> None:
    assert purl_version(purl) == reference(purl)


@settings(max_examples=1000)
@given(st.text(alphabet=_UNRESERVED + "@/?&=#%: pkg", max_size=30))
def test_arbitrary_text_answers_as_packageurl_does(value: str) -> None:
    purl = value.strip()
    if purl:
        assert purl_version(purl) == reference(purl)
