"""OpenVEX (v0.2.0, JSON) reader.

Shape read (https://github.com/openvex/spec, v0.2.0): ``statements[]`` with ``vulnerability``
(``{"name", "@id", "aliases"}``; a bare string in pre-0.2 documents), ``products[]`` (``@id`` or
``identifiers.purl``) with optional ``subcomponents[]``, ``status``, ``justification``,
``impact_statement`` and ``timestamp`` (the document's ``timestamp`` when a statement has none).

A product with subcomponents states the status of those subcomponents inside it; without, of the product
itself. patchgap keys statements by the package that runs (the subcomponent when given). As the spec
requires, ``not_affected`` needs a ``justification`` or an ``impact_statement``.
"""

from __future__ import annotations

from typing import Any

from core.errors import InputError
from core.vex import VEX_STATUSES, VexStatement
from ingest.vex.common import identifier, items, justification, obj, purl, text


def _product_purl(product: dict[str, Any], source: str, where: str) -> str:
    identifiers = product.get("identifiers")
    from_identifiers = identifiers.get("purl") if isinstance(identifiers, dict) else None
    return purl(text(from_identifiers or product.get("@id"), source, where), source, where)


def _vulnerability(raw: Any, source: str, where: str) -> tuple[str, tuple[str, ...]]:
    if isinstance(raw, str) and raw:
        name = identifier(raw, source, where)
        assert name is not None
        return name, ()
    vuln = obj(raw, source, where)
    name = identifier(vuln.get("name"), source, f"{where}.name") or identifier(
        vuln.get("@id"), source, f"{where}.@id"
    )
    if name is None:
        raise InputError(source, f"{where}: no name")
    aliases = tuple(
        a
        for a in (
            identifier(x, source, f"{where}.aliases") for x in items(vuln.get("aliases"), source, where)
        )
        if a
    )
    return name, aliases


def read_openvex(document: dict[str, Any], source: str) -> list[VexStatement]:
    """Every (statement, package) pair of an OpenVEX document, in document order."""
    default_time = text(document.get("timestamp"), source, "timestamp")
    author = text(document.get("author"), source, "author")
    out: list[VexStatement] = []
    for i, raw in enumerate(items(document.get("statements"), source, "statements")):
        where = f"statements[{i}]"
        statement = obj(raw, source, where)
        name, aliases = _vulnerability(statement.get("vulnerability"), source, f"{where}.vulnerability")
        status = text(statement.get("status"), source, f"{where}.status", required=True)
        if status not in VEX_STATUSES:
            raise InputError(source, f"{where}.status: {status!r} is not one of {', '.join(VEX_STATUSES)}")
        justified = justification(statement.get("justification"), source, f"{where}.justification")
        impact = text(statement.get("impact_statement"), source, f"{where}.impact_statement")
        if status == "not_affected" and justified is None and impact is None:
            raise InputError(source, f"{where}: not_affected needs a justification or an impact_statement")
        stamp = text(statement.get("timestamp"), source, f"{where}.timestamp") or default_time
        products = items(statement.get("products"), source, f"{where}.products")
        if not products:
            raise InputError(source, f"{where}: no products")
        for j, raw_product in enumerate(products):
            pwhere = f"{where}.products[{j}]"
            product = obj(raw_product, source, pwhere)
            subcomponents = items(product.get("subcomponents"), source, f"{pwhere}.subcomponents")
            targets = (
                [
                    _product_purl(obj(s, source, f"{pwhere}.subcomponents[{k}]"), source, pwhere)
                    for k, s in enumerate(subcomponents)
                ]
                if subcomponents
                else [_product_purl(product, source, pwhere)]
            )
            out.extend(
                VexStatement(
                    vulnerability=name,
                    purl=target,
                    status=status,
                    aliases=aliases,
                    justification=justified,
                    impact_statement=impact,
                    timestamp=stamp,
                    author=author,
                )
                for target in targets
            )
    return out
