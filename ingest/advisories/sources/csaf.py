"""CSAF 2.0 security advisories and VEX documents → :class:`core.advisories.Advisory` and VEX statements.

Validation: every document is checked against the CSAF 2.0 JSON Schema shipped in
``schemas/csaf/`` (OASIS; its FIRST CVSS ``$ref``s are served from local copies through a
``referencing`` registry, so nothing is fetched). A document that fails it raises AdvisoryError.

Mapping (one :class:`Advisory` per ``vulnerabilities[]`` entry; a CSAF document may cover several CVEs,
and making them aliases of one record would merge distinct vulnerabilities):

- ``id`` = ``"<document.tracking.id>/<cve>"`` (``"<tracking id>/#<index>"`` without a CVE), unique per
  document and vulnerability; ``aliases`` = ``(cve,)`` so the record joins the CVE's alias group;
  ``source`` = ``"csaf"``; ``published``/``modified`` = ``tracking.initial_release_date`` /
  ``current_release_date`` (strings as published); ``summary`` = the vulnerability's ``title`` (else the
  document title); ``details`` = its ``description`` / ``summary`` notes.
- Products: the ``product_tree`` is flattened — ``branches`` recursively (a ``product_version`` branch
  name is the version when the purl carries none), ``full_product_names``, and ``relationships`` (the
  combined product takes the purl of its ``product_reference`` and the platform of its
  ``relates_to_product_reference``). Only ``product_identification_helper.purl`` identifies a package.
- ``product_status`` per package (products grouped by purl without version and ``arch``, and platform):
  ``known_affected`` (and ``first_affected``/``last_affected``) versions → ``versions`` (enumerated
  affected versions); ``fixed``/``first_fixed`` → one ECOSYSTEM range ``introduced 0 → fixed v`` when the
  group has exactly one fixed version (``introduced`` is the single ``first_affected`` version when
  given, and ``last_affected`` adds its event the same way). "Introduced 0" is an assumption — CSAF says a
  version is fixed, not since when others were affected — the same one Red Hat's CSAF→OSV conversion
  makes. With several fixed versions in one group no range is invented; they are listed in the package's
  ``database_specific["csaf_fixed_versions"]``. ``known_not_affected`` and ``under_investigation``
  are not affected packages: they come out of :func:`vex_statements`.
- Products without a purl (CPE-only or named products, as in the OASIS examples) cannot be matched; they
  are listed in ``database_specific["csaf"]["unmapped_products"]`` with their status, never dropped.
- ``remediations[category=vendor_fix].date`` (earliest) → ``fix_available_at`` (source ``"csaf"``);
  ``threats[category=exploit_status]`` → ``exploited``, unless its details plainly deny exploitation
  (see :data:`_NOT_EXPLOITED`); ``scores[].cvss_v3``/``cvss_v2`` ``vectorString`` → severity;
  ``discovery_date`` (else ``tracking.initial_release_date``) → ``disclosed_at``.
- ``raw`` is the whole document (shared by the records of one document, not copied).

As a registered source (:data:`SOURCE`), CSAF reads one document or a directory of them, and is fetched
from a provider through its ``provider-metadata.json`` (:mod:`ingest.advisories.csaf_provider`): only
documents updated since the newest ``updated`` time of the last sync (the feed's cursor) are fetched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.advisories import Advisory, AffectedPackage, AffectedRange, Event, Severity
from core.errors import AdvisoryError
from core.jsondoc import JsonDocumentError, parse_json
from core.time import parse_rfc3339
from ingest.advisories.interface import Claim, Fetched, FetchRequest, RecordSource, Skipped

if TYPE_CHECKING:
    import jsonschema.protocols

    from ingest.advisories.http import HttpClient

NAME = "csaf"

_CVSS_REFS = {
    "https://www.first.org/cvss/cvss-v2.0.json": "cvss-v2.0.json",
    "https://www.first.org/cvss/cvss-v3.0.json": "cvss-v3.0.json",
    "https://www.first.org/cvss/cvss-v3.1.json": "cvss-v3.1.json",
}
# exploit_status threats are free text; these openings say there is no exploitation.
_NOT_EXPLOITED = re.compile(r"^\s*(no\b|none\b|not\b|unproven\b|no known\b)", re.IGNORECASE)
_AFFECTED_STATUSES = ("known_affected", "first_affected", "last_affected")
_FIXED_STATUSES = ("fixed", "first_fixed")
# CSAF product_status → VEX status as CycloneDX/OpenVEX name them.
VEX_STATUS = {
    "known_not_affected": "not_affected",
    "known_affected": "affected",
    "first_affected": "affected",
    "last_affected": "affected",
    "fixed": "fixed",
    "first_fixed": "fixed",
    "under_investigation": "under_investigation",
}


@dataclass(frozen=True, slots=True)
class Product:
    """One product of the tree, flattened."""

    product_id: str
    name: str
    purl: str | None = None
    cpe: str | None = None
    version: str | None = None  # from a product_version branch, used when the purl has no version
    version_range: str | None = None  # a product_version_range branch name, kept as published
    platform: str | None = None  # relationship target (a platform cpe or product id)


@dataclass(frozen=True, slots=True)
class VexStatement:
    """A product-level status from a CSAF document, in the shape a VEX import needs.

    ``status`` is ``not_affected`` | ``affected`` | ``fixed`` | ``under_investigation``;
    ``justification`` is the CSAF flag label (``component_not_present``,
    ``vulnerable_code_not_present``, …) that applies to the product, if any; ``impact`` the text of an
    ``impact`` threat for it.
    """

    vulnerability_id: str
    product_id: str
    product_name: str
    purl: str | None
    status: str
    justification: str | None = None
    impact: str | None = None


@dataclass(slots=True)
class _Group:
    """Products that share a package identity and platform, with their versions by status."""

    purl: str
    name: str
    platform: str | None
    by_status: dict[str, set[str]] = field(default_factory=dict)


def parse_csaf(doc: Any, *, origin: str) -> list[Advisory]:
    """Validate a CSAF 2.0 document and map each vulnerability to an Advisory (see module docstring)."""
    validate_csaf(doc, origin=origin)
    document = doc["document"]
    tracking = document["tracking"]
    products = flatten_products(doc.get("product_tree") or {})
    groups = _product_groups(doc.get("product_tree") or {})
    advisories: list[Advisory] = []
    for index, vuln in enumerate(doc.get("vulnerabilities") or ()):
        cve = vuln.get("cve")
        advisories.append(
            Advisory(
                id=_vuln_id(tracking["id"], cve, index),
                source=NAME,
                modified=tracking["current_release_date"],
                published=tracking["initial_release_date"],
                aliases=(cve,) if cve else (),
                summary=vuln.get("title") or document.get("title") or "",
                details=_details(vuln),
                severity=tuple(_severities(vuln)),
                affected=tuple(_affected(vuln, products)),
                fix_available_at=_fix_date(vuln),
                fix_available_source=NAME if _fix_date(vuln) else None,
                exploited=_exploited(vuln),
                disclosed_at=vuln.get("discovery_date") or tracking["initial_release_date"],
                database_specific={
                    "csaf": {
                        "document": tracking["id"],
                        "category": document.get("category"),
                        "publisher": (document.get("publisher") or {}).get("name"),
                        "unmapped_products": _unmapped(vuln, products),
                        "exploit_status": [
                            t.get("details")
                            for t in vuln.get("threats") or ()
                            if t.get("category") == "exploit_status"
                        ],
                        "product_groups": len(groups),
                    }
                },
                raw=doc,
            )
        )
    return advisories


def vex_statements(doc: Any, *, origin: str) -> list[VexStatement]:
    """Every product status of the document as a VEX statement (validated first).

    A VEX import keeps what it needs, typically ``status == "not_affected"`` with its justification.
    """
    validate_csaf(doc, origin=origin)
    tracking_id = doc["document"]["tracking"]["id"]
    tree = doc.get("product_tree") or {}
    products = flatten_products(tree)
    groups = _product_groups(tree)
    statements: list[VexStatement] = []
    seen: set[tuple[str, str, str]] = set()
    for index, vuln in enumerate(doc.get("vulnerabilities") or ()):
        vuln_id = vuln.get("cve") or _vuln_id(tracking_id, None, index)
        flags = _per_product(vuln.get("flags") or (), groups, lambda f: f.get("label"))
        impacts = _per_product(
            [t for t in vuln.get("threats") or () if t.get("category") == "impact"],
            groups,
            lambda t: t.get("details"),
        )
        for status, product_ids in (vuln.get("product_status") or {}).items():
            vex = VEX_STATUS.get(status)
            if vex is None:  # "recommended" is advice, not a status of exposure
                continue
            for product_id in product_ids:
                product = products.get(product_id, Product(product_id, product_id))
                key = (vuln_id, product_id, vex)
                if key in seen:  # "fixed" and "first_fixed" may both list a product
                    continue
                seen.add(key)
                statements.append(
                    VexStatement(
                        vulnerability_id=vuln_id,
                        product_id=product_id,
                        product_name=product.name,
                        purl=_versioned_purl(product),
                        status=vex,
                        justification=flags.get(product_id) if vex == "not_affected" else None,
                        impact=impacts.get(product_id),
                    )
                )
    return statements


def validate_csaf(doc: Any, *, origin: str) -> None:
    """Raise AdvisoryError naming the first schema violation (the most relevant one)."""
    if not isinstance(doc, dict):
        raise AdvisoryError(origin, "a CSAF document must be a JSON object")
    validator = _validator()
    if validator.is_valid(doc):
        return
    from jsonschema.exceptions import best_match  # noqa: PLC0415 - see _validator

    error = best_match(validator.iter_errors(doc))
    if error is None:  # pragma: no cover - is_valid said invalid
        raise AdvisoryError(origin, "does not follow the CSAF 2.0 schema")
    where = "/".join(str(p) for p in error.absolute_path) or "(document)"
    message = " ".join(error.message.split())
    if len(message) > 200:
        message = message[:199] + "…"
    raise AdvisoryError(origin, f"does not follow the CSAF 2.0 schema at {where}: {message}")


def flatten_products(tree: Mapping[str, Any]) -> dict[str, Product]:
    """Every product of a product_tree by product_id: branches, full_product_names, relationships."""
    products: dict[str, Product] = {}

    def visit(branches: Iterable[Mapping[str, Any]], version: str | None, version_range: str | None) -> None:
        for branch in branches:
            category = branch.get("category")
            here_version = branch.get("name") if category == "product_version" else version
            here_range = branch.get("name") if category == "product_version_range" else version_range
            product = branch.get("product")
            if product:
                products[product["product_id"]] = _product(product, here_version, here_range)
            visit(branch.get("branches") or (), here_version, here_range)

    visit(tree.get("branches") or (), None, None)
    for full in tree.get("full_product_names") or ():
        products[full["product_id"]] = _product(full, None, None)
    for rel in tree.get("relationships") or ():
        component = products.get(rel["product_reference"])
        platform = products.get(rel["relates_to_product_reference"])
        full = rel["full_product_name"]
        own = _product(full, None, None)
        products[full["product_id"]] = Product(
            product_id=full["product_id"],
            name=full["name"],
            purl=own.purl or (component.purl if component else None),
            cpe=own.cpe or (component.cpe if component else None),
            version=component.version if component else None,
            version_range=component.version_range if component else None,
            platform=(platform.cpe or platform.product_id)
            if platform
            else rel["relates_to_product_reference"],
        )
    return products


class CsafSource:
    """An :class:`~ingest.advisories.interface.AdvisorySource` over CSAF JSON files.

    ``path`` is one ``.json`` document or a directory of them (walked in sorted order). A document
    that cannot be read or fails the schema becomes one Skipped for the whole document.
    """

    name = NAME

    def __init__(self, path: Path) -> None:
        self.path = path

    def files(self) -> list[Path]:
        if self.path.is_file():
            return [self.path]
        if self.path.is_dir():
            return sorted(p for p in self.path.rglob("*.json") if not p.name.startswith("."))
        raise AdvisoryError(str(self.path), "neither a CSAF document nor a directory of them")

    def records(self) -> Iterator[Advisory | Skipped]:
        for path in self.files():
            try:
                doc = parse_json(path.read_bytes())
            except JsonDocumentError as exc:
                yield Skipped(str(path), None, exc.explain("not a readable JSON document"))
                continue
            except OSError as exc:
                yield Skipped(str(path), None, f"not a readable JSON document: {exc}")
                continue
            try:
                yield from parse_csaf(doc, origin=str(path))
            except AdvisoryError as exc:
                tracking_id = _tracking_id(doc)
                yield Skipped(str(path), tracking_id, exc.problem)


def _tracking_id(doc: Any) -> str | None:
    try:
        value = doc["document"]["tracking"]["id"]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _product(obj: Mapping[str, Any], version: str | None, version_range: str | None) -> Product:
    helper = obj.get("product_identification_helper") or {}
    return Product(
        product_id=obj["product_id"],
        name=obj.get("name", obj["product_id"]),
        purl=helper.get("purl"),
        cpe=helper.get("cpe"),
        version=version,
        version_range=version_range,
    )


def _vuln_id(tracking_id: str, cve: str | None, index: int) -> str:
    return f"{tracking_id}/{cve}" if cve else f"{tracking_id}/#{index}"


def _details(vuln: Mapping[str, Any]) -> str:
    notes = [
        n.get("text", "") for n in vuln.get("notes") or () if n.get("category") in ("description", "summary")
    ]
    return "\n\n".join(n for n in notes if n)


def _severities(vuln: Mapping[str, Any]) -> list[Severity]:
    from ingest.advisories import severity as sev  # noqa: PLC0415 - cvss loads with the first document

    out: list[Severity] = []
    for score in vuln.get("scores") or ():
        for key, kind in (("cvss_v3", "CVSS_V3"), ("cvss_v2", "CVSS_V2")):
            vector = (score.get(key) or {}).get("vectorString")
            if vector:
                statement = sev.score_vector(kind, vector)
                if statement not in out:
                    out.append(statement)
    return out


def _fix_date(vuln: Mapping[str, Any]) -> str | None:
    dates = [
        r["date"]
        for r in vuln.get("remediations") or ()
        if r.get("category") == "vendor_fix" and r.get("date")
    ]
    if not dates:
        return None
    # Earliest instant, but keep the string exactly as published.
    earliest: str = min(dates, key=parse_rfc3339)
    return earliest


def _exploited(vuln: Mapping[str, Any]) -> bool:
    return any(
        t.get("category") == "exploit_status" and not _NOT_EXPLOITED.match(t.get("details") or "")
        for t in vuln.get("threats") or ()
    )


def _split_purl(purl: str) -> tuple[str, str, str | None] | None:
    """(package purl without version, ``arch`` and ``epoch``; name; version) or None when unparsable.

    ``arch`` does not change which versions are fixed, so binary and source products of one package
    share a group. An ``epoch`` qualifier (rpm) is part of the version: it is folded into it as
    ``epoch:version``, the form OSV ranges use.
    """
    from packageurl import PackageURL  # noqa: PLC0415 - loaded with the first document, not the source

    try:
        parsed = PackageURL.from_string(purl)
    except ValueError:
        return None
    qualifiers = dict(parsed.qualifiers or {})
    qualifiers.pop("arch", None)
    epoch = qualifiers.pop("epoch", None)
    version = parsed.version
    if version and epoch and epoch != "0":
        version = f"{epoch}:{version}"
    package = PackageURL(
        type=parsed.type,
        namespace=parsed.namespace,
        name=parsed.name,
        qualifiers=qualifiers or None,
        subpath=parsed.subpath,
    ).to_string()
    return package, parsed.name, version


def _versioned_purl(product: Product) -> str | None:
    if product.purl is None:
        return None
    split = _split_purl(product.purl)
    if split is None or split[2] is not None or product.version is None:
        return product.purl
    from packageurl import PackageURL  # noqa: PLC0415 - see _split_purl

    try:
        parsed = PackageURL.from_string(product.purl)
    except ValueError:  # pragma: no cover - _split_purl parsed it
        return product.purl
    return PackageURL(
        type=parsed.type,
        namespace=parsed.namespace,
        name=parsed.name,
        version=product.version,
        qualifiers=parsed.qualifiers or None,
        subpath=parsed.subpath,
    ).to_string()


def _affected(vuln: Mapping[str, Any], products: Mapping[str, Product]) -> list[AffectedPackage]:
    groups: dict[tuple[str, str | None], _Group] = {}
    for status, product_ids in (vuln.get("product_status") or {}).items():
        if status not in _AFFECTED_STATUSES + _FIXED_STATUSES:
            continue
        for product_id in product_ids:
            product = products.get(product_id)
            if product is None or product.purl is None:
                continue
            split = _split_purl(product.purl)
            if split is None:
                continue
            package, name, version = split
            version = version or product.version
            group = groups.setdefault((package, product.platform), _Group(package, name, product.platform))
            if version:
                group.by_status.setdefault(status, set()).add(version)

    out: list[AffectedPackage] = []
    for group in sorted(groups.values(), key=lambda g: (g.purl, g.platform or "")):
        fixed = sorted(set().union(*(group.by_status.get(s, set()) for s in _FIXED_STATUSES)))
        first = sorted(group.by_status.get("first_affected", set()))
        last = sorted(group.by_status.get("last_affected", set()))
        affected_versions = sorted(set().union(*(group.by_status.get(s, set()) for s in _AFFECTED_STATUSES)))
        ranges: list[AffectedRange] = []
        if len(fixed) == 1 or len(last) == 1:
            events = [Event("introduced", first[0] if len(first) == 1 else "0")]
            if len(fixed) == 1:
                events.append(Event("fixed", fixed[0]))
            elif len(last) == 1:
                events.append(Event("last_affected", last[0]))
            ranges.append(AffectedRange("ECOSYSTEM", tuple(events)))
        database_specific: dict[str, Any] = {}
        if group.platform:
            database_specific["csaf_platform"] = group.platform
        if len(fixed) > 1:
            database_specific["csaf_fixed_versions"] = fixed
        out.append(
            AffectedPackage(
                ecosystem=None,  # derived from the purl by the matcher, like an SBOM component's
                name=group.name,
                purl=group.purl,
                ranges=tuple(ranges),
                versions=tuple(affected_versions),
                database_specific=database_specific or None,
            )
        )
    return out


def _unmapped(vuln: Mapping[str, Any], products: Mapping[str, Product]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for status, product_ids in sorted((vuln.get("product_status") or {}).items()):
        for product_id in product_ids:
            product = products.get(product_id, Product(product_id, product_id))
            if product.purl is None or _split_purl(product.purl) is None:
                entry: dict[str, Any] = {"product_id": product_id, "name": product.name, "status": status}
                if product.cpe:
                    entry["cpe"] = product.cpe
                if product.version:
                    entry["version"] = product.version
                if product.version_range:
                    entry["version_range"] = product.version_range
                out.append(entry)
    return out


def _product_groups(tree: Mapping[str, Any]) -> dict[str, list[str]]:
    return {g["group_id"]: list(g["product_ids"]) for g in tree.get("product_groups") or ()}


def _per_product(
    items: Iterable[Mapping[str, Any]], groups: Mapping[str, list[str]], value: Any
) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        text = value(item)
        if not text:
            continue
        ids = list(item.get("product_ids") or ())
        for group_id in item.get("group_ids") or ():
            ids.extend(groups.get(group_id, ()))
        for product_id in ids:
            out.setdefault(product_id, text)
    return out


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    """The CSAF 2.0 validator, built once. jsonschema is imported here, not with the module: its format
    checker loads ``rfc3987-syntax``, which compiles dozens of lark grammars (about 2 s)."""
    from importlib import resources  # noqa: PLC0415

    import jsonschema.validators  # noqa: PLC0415
    import referencing  # noqa: PLC0415
    import referencing.jsonschema  # noqa: PLC0415

    package = resources.files("ingest.advisories.schemas.csaf")
    schema = json.loads(package.joinpath("csaf_json_schema.json").read_text("utf-8"))
    registry: referencing.Registry[Any] = referencing.Registry()
    for uri, file_name in _CVSS_REFS.items():
        contents = json.loads(package.joinpath(file_name).read_text("utf-8"))
        resource = referencing.Resource.from_contents(
            contents, default_specification=referencing.jsonschema.DRAFT7
        )
        registry = registry.with_resource(uri, resource)
        own_id = contents.get("$id") or contents.get("id")
        if isinstance(own_id, str) and own_id != uri:
            registry = registry.with_resource(own_id, resource)
    cls = jsonschema.validators.validator_for(schema)
    validator: jsonschema.protocols.Validator = cls(schema, registry=registry)
    return validator


class Csaf(RecordSource):
    """CSAF 2.0 documents: files, directories, and providers (see the module docstring)."""

    name = NAME
    fetchable = True
    url_help = "provider-metadata.json URL"

    def claim(self, document: Any) -> Claim:
        inner = document.get("document") if isinstance(document, dict) else None
        return Claim.FORMAT if isinstance(inner, dict) and "csaf_version" in inner else Claim.NONE

    def open(self, path: Path) -> Iterator[Advisory | Skipped]:
        return CsafSource(path).records()

    def feed_key(self, url: str) -> str | None:
        return f"{NAME}:{url}"

    def fetch(self, http: HttpClient, request: FetchRequest) -> Fetched:
        """The documents the provider updated since the cursor, mapped; a bad one is one Skipped."""
        from ingest.advisories.csaf_provider import CsafProvider  # noqa: PLC0415 - fetching only

        synced = CsafProvider(http, request.url).sync(since=request.cursor)
        records: list[Advisory | Skipped] = list(synced.skipped)
        for doc in synced.documents:
            try:
                records.extend(parse_csaf(doc.document, origin=doc.ref.url))
            except AdvisoryError as exc:
                records.append(Skipped(doc.ref.url, None, exc.problem))
        return Fetched(
            changed=True,
            records=records,
            cursor=synced.newest,
            note=f"{synced.listed} listed, {len(synced.documents)} fetched (new or changed)",
        )


SOURCE = Csaf()
