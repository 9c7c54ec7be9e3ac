"""OCPI status codes and the exceptions handlers raise to answer with them.

Handlers never build envelopes by hand: they return data through :func:`gateway.ocpi.envelope.ocpi_response`
or raise an :class:`OcpiError`; ``app.py`` maps every exception to an envelope in one place.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = (
    "MethodNotAllowedError",
    "NotFoundError",
    "OcpiError",
    "OcpiStatus",
    "UnauthorizedError",
)


class OcpiStatus(IntEnum):
    """Every OCPI ``status_code`` the standard defines (custom ranges are bilateral and unused here)."""

    SUCCESS = 1000
    CLIENT_ERROR = 2000
    INVALID_PARAMETERS = 2001
    NOT_ENOUGH_INFORMATION = 2002
    UNKNOWN_LOCATION = 2003
    UNKNOWN_TOKEN = 2004
    SERVER_ERROR = 3000
    CLIENT_API_UNUSABLE = 3001
    UNSUPPORTED_VERSION = 3002
    NO_MATCHING_ENDPOINTS = 3003
    HUB_ERROR = 4000
    HUB_UNKNOWN_RECEIVER = 4001
    HUB_TIMEOUT = 4002
    HUB_RECEIVER_NOT_CONNECTED = 4003


class OcpiError(Exception):
    """An OCPI-level answer other than success.

    By the spec, valid JSON reaching an existing resource is answered with HTTP 200 and the OCPI code;
    a few situations have their own HTTP status (404 for unknown objects, 405 for credentials in the
    wrong state, 401 for credentials), set through ``http_status``.
    """

    def __init__(self, status: OcpiStatus, message: str, *, http_status: int = 200) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.http_status = http_status


class NotFoundError(OcpiError):
    """An object that does not exist: HTTP 404 with OCPI 2001 (or the code given, e.g. 2004)."""

    def __init__(self, message: str, status: OcpiStatus = OcpiStatus.INVALID_PARAMETERS) -> None:
        super().__init__(status, message, http_status=404)


class MethodNotAllowedError(OcpiError):
    """A method the resource does not allow in its current state (credentials): HTTP 405."""

    def __init__(self, message: str) -> None:
        super().__init__(OcpiStatus.CLIENT_ERROR, message, http_status=405)


class UnauthorizedError(OcpiError):
    """Missing or unknown credentials token, or token A on a functional module: HTTP 401."""

    def __init__(self, message: str) -> None:
        super().__init__(OcpiStatus.CLIENT_ERROR, message, http_status=401)
