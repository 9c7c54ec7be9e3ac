"""Pagination of every OCPI list: ``offset``, ``limit``, ``date_from``, ``date_to`` in; ``X-Total-Count``,
``X-Limit`` and ``Link: <...>; rel="next"`` out.

Order: every list is sorted by ``last_updated`` ascending, then by owner (country code, party id) and id,
so a crawl that follows ``Link`` sees each object once even while others change: a changed object moves
to the end of the list, where the crawl finds it again (the spec's advice for growing totals).
``date_from`` is inclusive, ``date_to`` exclusive. ``X-Limit`` is the server's cap (``max_page_limit``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import msgspec

from gateway.ocpi.envelope import ocpi_response
from gateway.ocpi.status import OcpiError, OcpiStatus
from gateway.ocpi.types import utc

if TYPE_CHECKING:
    from collections.abc import Mapping

    from litestar import Request, Response

    from gateway.state import GatewayState
    from gateway.store.base import ObjectPage

__all__ = ("PageQuery", "list_objects_response", "page_headers", "paginated_response", "parse_page_query")

_PAGING_PARAMS = frozenset(("offset", "limit"))


class PageQuery(msgspec.Struct, frozen=True, kw_only=True):
    """The validated paging parameters of one request."""

    offset: int = 0
    limit: int
    date_from: datetime | None = None
    date_to: datetime | None = None


def _bad_query(message: str) -> OcpiError:
    """A malformed query parameter: HTTP 400 with OCPI 2001 (the query is not a body the OCPI layer reads)."""
    return OcpiError(OcpiStatus.INVALID_PARAMETERS, message, http_status=400)


def _int_param(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise _bad_query(f"Query parameter '{name}' must be an integer") from None
    if value < 0:
        raise _bad_query(f"Query parameter '{name}' must not be negative")
    return value


def _date_param(params: Mapping[str, str], name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return utc(msgspec.json.decode(msgspec.json.encode(raw.replace(" ", "+")), type=datetime))
    except (msgspec.ValidationError, ValueError):
        raise _bad_query(f"Query parameter '{name}' must be an OCPI DateTime (UTC)") from None


def parse_page_query(params: Mapping[str, str], max_limit: int) -> PageQuery:
    """Read and validate the paging parameters; ``limit`` defaults to and is capped at ``max_limit``.

    Raises:
        OcpiError: 2001 for a malformed or negative value, or ``date_from`` not before ``date_to``.
    """
    offset = _int_param(params, "offset") or 0
    limit = _int_param(params, "limit")
    date_from = _date_param(params, "date_from")
    date_to = _date_param(params, "date_to")
    if date_from is not None and date_to is not None and date_from >= date_to:
        raise _bad_query("date_from must be before date_to")
    return PageQuery(
        offset=offset,
        limit=max_limit if limit is None else min(limit, max_limit),
        date_from=date_from,
        date_to=date_to,
    )


def page_headers(
    base_url: str, params: Mapping[str, str], query: PageQuery, total: int, returned: int, max_limit: int
) -> dict[str, str]:
    """``X-Total-Count``, ``X-Limit`` and, unless this is the last page, ``Link`` to the next page.

    The next URL repeats every query parameter of the request (filters included) with the new offset.
    """
    headers = {"X-Total-Count": str(total), "X-Limit": str(max_limit)}
    next_offset = query.offset + returned
    if returned > 0 and next_offset < total:
        kept = [(key, value) for key, value in params.items() if key not in _PAGING_PARAMS]
        kept += [("offset", str(next_offset)), ("limit", str(query.limit))]
        headers["Link"] = f'<{base_url}?{urlencode(kept)}>; rel="next"'
    return headers


def paginated_response(
    request: Request[Any, Any, Any], base_url: str, query: PageQuery, page: ObjectPage, max_limit: int
) -> Response[bytes]:
    """An OCPI list answer: the page's stored JSON objects as ``data`` and the pagination headers.

    ``base_url`` is our public base URL (``Settings.base_url``); the request path is appended to it.
    """
    base_url = base_url.rstrip("/") + request.url.path
    headers = page_headers(base_url, request.query_params, query, page.total, len(page.items), max_limit)
    return ocpi_response([msgspec.Raw(item.data) for item in page.items], headers=headers)


async def list_objects_response(
    request: Request[Any, Any, Any], state: GatewayState, kind: str, *, owner: tuple[str, str] | None = None
) -> Response[bytes]:
    """The whole paginated GET of a Sender list: parse paging, read one page of ``kind``, answer.

    Raises:
        OcpiError: 2001 for malformed paging parameters.
    """
    settings = state.settings
    query = parse_page_query(request.query_params, settings.max_page_limit)
    page = await state.store.list_objects(
        kind,
        owner=owner,
        date_from=query.date_from,
        date_to=query.date_to,
        offset=query.offset,
        limit=query.limit,
    )
    return paginated_response(request, settings.base_url, query, page, settings.max_page_limit)
