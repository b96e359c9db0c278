"""syft's own JSON (``syft -o json``, the format Grype reads), JSON schema 1.x to 16.x, from ``json.loads``.

The document, as syft's ``schema/json/schema-*.json`` define it: ``artifacts`` (the packages found, each
with ``name``, ``version``, ``type``, ``purl``, ``cpes``, ``licenses``, ``metadata``), ``source`` (what
was scanned: an image, a directory, a file), ``distro``, ``descriptor`` (the tool: ``name``,
``version``) and ``schema`` (``version`` and the ``url`` of the schema file under
``anchore/syft/…/schema/json/``). It is recognised by that schema URL, or by ``descriptor.name`` syft,
beside an ``artifacts`` key.

Mapping: every artifact is a component; its purl is taken as written (syft writes ``""`` when it cannot
build one, which is ``no-purl``). ``source`` is the subject: ``name`` and ``version`` (schema 9 and
later) or the older ``target`` (a path, or an image's ``userInput``). ``descriptor`` is the tool.
Licences are strings up to schema 7 and objects (``spdxExpression``, ``value``) from 8 on. A Debian
package's source package comes from its ``metadata.source`` / ``sourceVersion``, an Alpine package's
from ``metadata.originPackage`` (advisories name source packages); a Java archive's digests from
``metadata.digest``.

No schema version has a creation time, a document identifier or an author: a syft document always
carries the ``missing-timestamp``, ``no-serial-number`` and ``no-author`` quality flags, and its upload
needs an explicit observation time, as any SBOM without a timestamp does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from core.errors import SbomError
from core.sbom import Component, Hash, ParsedSbom, SbomFormat, Tool
from ingest.sbom.common import component, load_json, objects, parsed_sbom, text, unique, unsupported_version

# Schema MODEL versions read here (SchemaVer MODEL.REVISION.ADDITION: a new MODEL breaks readers).
SUPPORTED_MODELS = range(1, 17)
_SCHEMA_URL = re.compile(r"/anchore/syft/.*/schema-(\d+\.\d+\.\d+)\.json$")
_SCHEMA_VERSION = re.compile(r"(\d+)\.\d+\.\d+")


def _schema_version(document: Mapping[str, Any], source: str) -> str:
    schema = document.get("schema")
    if not isinstance(schema, dict):
        raise SbomError(source, "schema is not an object")
    version = text(schema.get("version"))
    if version is None:
        url = text(schema.get("url"))
        match = _SCHEMA_URL.search(url) if url else None
        if match is None:
            raise SbomError(source, "syft JSON has no schema.version")
        version = match[1]
    match = _SCHEMA_VERSION.fullmatch(version)
    if match is None or int(match[1]) not in SUPPORTED_MODELS:
        raise unsupported_version(
            source, "syft JSON schema", version, (f"{SUPPORTED_MODELS[0]}.x to {SUPPORTED_MODELS[-1]}.x",)
        )
    return version


def _licenses(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    out: list[str | None] = []
    for entry in value:
        if isinstance(entry, dict):  # schema 8 and later
            out.append(text(entry.get("spdxExpression")) or text(entry.get("value")))
        else:
            out.append(text(entry))
    return unique(out)


def _digests(metadata: Mapping[str, Any]) -> tuple[Hash, ...]:
    digests = metadata.get("digest")
    if not isinstance(digests, list):
        return ()
    return tuple(
        Hash(algorithm, value)
        for d in digests
        if isinstance(d, dict) and (algorithm := text(d.get("algorithm"))) and (value := text(d.get("value")))
    )


def _artifact(a: Mapping[str, Any]) -> Component:
    type_ = text(a.get("type"))
    metadata = a.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    # The distribution source package: dpkg's Source field, apk's origin (syft writes "" when it is the
    # package itself, which ``text`` reads as absent).
    source_key = {"deb": "source", "apk": "originPackage"}.get(type_ or "")
    source_name = text(metadata.get(source_key)) if source_key else None
    return component(
        name=text(a.get("name")),
        version=text(a.get("version")),
        purl=text(a.get("purl")),
        bom_ref=text(a.get("id")),
        type_=type_,
        hashes=_digests(metadata) if metadata else (),
        licenses=_licenses(a.get("licenses")),
        source_name=source_name,
        source_version=text(metadata.get("sourceVersion")) if type_ == "deb" else None,
    )


def _subject(value: object, source: str) -> Component | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SbomError(source, "source is not an object")
    name = text(value.get("name"))
    if name is None:  # schema 1 to 8: the scanned path, or an image's user input
        target = value.get("target")
        name = text(target.get("userInput")) if isinstance(target, dict) else text(target)
    if name is None:
        return None
    return component(name=name, version=text(value.get("version")), purl=None, type_=text(value.get("type")))


def _tool(value: object, source: str) -> list[Tool]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise SbomError(source, "descriptor is not an object")
    name = text(value.get("name"))
    return [Tool(name, text(value.get("version")))] if name else []


def read_syft_json(document: Mapping[str, Any], source: str) -> ParsedSbom:
    version = _schema_version(document, source)
    components = [_artifact(a) for a in objects(document.get("artifacts"), source, "artifacts")]
    return parsed_sbom(
        source,
        format=SbomFormat.SYFT_JSON,
        spec_version=version,
        serial_number=None,
        timestamp=None,
        subject=_subject(document.get("source"), source),
        tools=_tool(document.get("descriptor"), source),
        components=components,
    )


def _is_syft(document: Mapping[str, Any]) -> bool:
    schema = document.get("schema")
    url = text(schema.get("url")) if isinstance(schema, dict) else None
    if url is not None and _SCHEMA_URL.search(url):
        return True
    descriptor = document.get("descriptor")
    return isinstance(descriptor, dict) and descriptor.get("name") == "syft"


class SyftJsonReader:
    format = SbomFormat.SYFT_JSON

    def sniff(self, head: bytes) -> bool:
        return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") and b'"artifacts"' in head

    def accepts(self, document: Mapping[str, Any]) -> bool:
        return "artifacts" in document and _is_syft(document)

    def read_document(self, document: Mapping[str, Any], source: str) -> ParsedSbom:
        if not self.accepts(document):
            raise SbomError(source, "not a syft JSON document (no artifacts beside a syft schema URL)")
        return read_syft_json(document, source)

    def read(self, data: bytes, source: str) -> ParsedSbom:
        document = load_json(data, source)
        if not isinstance(document, dict):
            raise SbomError(source, "not a syft JSON document (the top level is not an object)")
        return self.read_document(document, source)


READER = SyftJsonReader()
