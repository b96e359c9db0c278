"""Dashboard addresses built from the current page's query, so the moment and the filters a user chose
survive every link.

The *sticky* parameters are the evaluation moment (``as_of``), the comparison period and the list
filters (system, environment, owner, tier, KEV, status, package). A link keeps the sticky parameters of
the page it is on, drops everything else (a cursor or a sort belongs to one list), and adds or replaces
what it is given; a value of ``None`` or ``""`` removes a parameter. A page whose query holds parameters
that are not filters (the exposure page is named by its system, package, version and vulnerability)
says which of its parameters stick by giving the template a ``sticky`` mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.requests import Request

FILTERS = ("system", "environment", "owner", "tier", "kev", "status", "package")
STICKY = ("as_of", "period", *FILTERS)

__all__ = ["FILTERS", "STICKY", "dashboard_url", "sticky_of", "template_url"]


def sticky_of(query: Mapping[str, str]) -> dict[str, str]:
    """The sticky parameters of a query, in a fixed order, empty values left out."""
    return {key: query[key] for key in STICKY if query.get(key)}


def dashboard_url(path: str, sticky: Mapping[str, str], params: Mapping[str, Any] | None = None) -> str:
    """``path`` with the ``sticky`` parameters, then ``params`` added or replacing them (``None`` or ""
    removes one; ``True``/``False`` are written ``yes``/``no``)."""
    query: dict[str, str] = dict(sticky)
    for key, value in (params or {}).items():
        if value is None or value == "":
            query.pop(key, None)
        elif isinstance(value, bool):
            query[key] = "yes" if value else "no"
        else:
            query[key] = str(value)
    return f"{path}?{urlencode(query)}" if query else path


def _sticky_in(context: Context) -> dict[str, str]:
    given = context.get("sticky")
    if given is not None:
        return dict(given)
    request = context.get("request")
    return sticky_of(request.query_params) if isinstance(request, Request) else {}


@pass_context
def template_url(context: Context, path: str, **params: Any) -> str:
    """``url("/dashboard/plan", page=2)`` in a template: the page's sticky parameters carried along."""
    return dashboard_url(path, _sticky_in(context), params)
