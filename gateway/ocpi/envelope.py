"""The OCPI response envelope: ``data``, ``status_code``, ``status_message``, ``timestamp``.

Every OCPI answer, success or error, is built by :func:`ocpi_response` (handlers) or
:func:`envelope_bytes` (the exception map in app.py).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Response
from litestar.enums import MediaType

from gateway.ocpi.status import OcpiStatus

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ("Envelope", "envelope_bytes", "now_timestamp", "ocpi_response")


class Envelope(msgspec.Struct, frozen=True, omit_defaults=True):
    """The wire shape of every OCPI response body. ``data`` and ``status_message`` are left out when unset."""

    status_code: int
    timestamp: str
    data: Any = msgspec.UNSET
    status_message: str | msgspec.UnsetType = msgspec.UNSET


_encoder = msgspec.json.Encoder()
_last_second = -1
_last_stamp = ""


def now_timestamp() -> str:
    """The current UTC time as an OCPI DateTime (``2026-11-23T21:11:05Z``), cached per second."""
    global _last_second, _last_stamp
    now = int(time.time())
    if now != _last_second:
        _last_stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        _last_second = now
    return _last_stamp


def envelope_bytes(status: int, *, data: Any = msgspec.UNSET, message: str | None = None) -> bytes:
    """Encode one envelope."""
    envelope = Envelope(
        status_code=int(status),
        timestamp=now_timestamp(),
        data=data,
        status_message=message if message is not None else msgspec.UNSET,
    )
    return _encoder.encode(envelope)


def ocpi_response(
    data: Any = msgspec.UNSET,
    *,
    status: OcpiStatus = OcpiStatus.SUCCESS,
    http_status: int = 200,
    message: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[bytes]:
    """A Litestar response carrying ``data`` in the OCPI envelope.

    Args:
        data: The payload (Structs, lists, dicts, or pre-encoded ``msgspec.Raw``); left out when unset.
        status: The OCPI status code.
        http_status: The HTTP status (200, or 201 for a newly created object).
        message: An optional ``status_message``.
        headers: Extra response headers (pagination, ``Location``).

    Returns:
        The response, with ``Content-Type: application/json``.
    """
    return Response(
        content=envelope_bytes(status, data=data, message=message),
        status_code=http_status,
        media_type=MediaType.JSON,
        headers=dict(headers) if headers else None,
    )
