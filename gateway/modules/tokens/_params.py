"""URL and query parameters shared by the token endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.modules.tokens.models import TokenType
from gateway.ocpi.status import OcpiError, OcpiStatus

if TYPE_CHECKING:
    from litestar import Request

__all__ = ("token_type", "url_segment")

_TYPES = frozenset(t.value for t in TokenType)


def token_type(request: Request[Any, Any, Any]) -> str:
    """The ``type`` query parameter, ``RFID`` when absent.

    Raises:
        OcpiError: 2001 (HTTP 400) for a value that is not a TokenType.
    """
    value = request.query_params.get("type") or "RFID"
    if value not in _TYPES:
        raise OcpiError(OcpiStatus.INVALID_PARAMETERS, f"Unknown token type {value!r} in ?type=", http_status=400)
    return value


def url_segment(request: Request[Any, Any, Any], name: str, max_length: int) -> str:
    """A path segment as a CiString of at most ``max_length`` printable ASCII characters.

    Raises:
        OcpiError: 2001 (HTTP 400) for a segment that cannot be such an identifier.
    """
    value: str = request.path_params[name]
    if not value or len(value) > max_length or not value.isascii() or not value.isprintable():
        raise OcpiError(
            OcpiStatus.INVALID_PARAMETERS, f"URL segment {name} must be 1 to {max_length} printable ASCII characters",
            http_status=400,
        )
    return value
