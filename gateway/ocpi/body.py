"""Decoding request bodies into OCPI Structs with clear OCPI errors.

Body that is not JSON: HTTP 400 + OCPI 2001 (the spec makes 400 mandatory). Valid JSON whose content
is rejected (wrong type, over-long string, unknown enum value, missing field): OCPI 2001 with the
HTTP status the settings name (``validation_http_status``, 200 by default, as the spec says valid JSON
on an existing resource gets no HTTP error; 400 for partners who expect it). The message names the
field, as msgspec's path does (``$.roles[0].party_id``).
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from gateway.ocpi.status import OcpiError, OcpiStatus

__all__ = ("decode_body", "invalid_content", "invalid_json")

T = TypeVar("T")

_decoders: dict[object, msgspec.json.Decoder[object]] = {}


def invalid_json(detail: str) -> OcpiError:
    """The error for a body that is not JSON: HTTP 400, OCPI 2001."""
    return OcpiError(OcpiStatus.INVALID_PARAMETERS, f"Request body is not valid JSON: {detail}", http_status=400)


def invalid_content(detail: str, http_status: int) -> OcpiError:
    """The error for JSON whose content is rejected: OCPI 2001."""
    return OcpiError(OcpiStatus.INVALID_PARAMETERS, f"Invalid request body: {detail}", http_status=http_status)


def decode_body(body: bytes, kind: type[T], *, validation_http_status: int = 200) -> T:
    """Decode and validate a request body.

    Raises:
        OcpiError: 2001 with HTTP 400 for malformed JSON, or with ``validation_http_status`` for content.
    """
    decoder = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = msgspec.json.Decoder(kind)
    try:
        return decoder.decode(body)  # type: ignore[return-value]
    except msgspec.ValidationError as exc:
        try:  # a type error may be found before the JSON is seen to be broken: tell the two apart
            msgspec.json.decode(body)
        except msgspec.DecodeError as syntax:
            raise invalid_json(str(syntax)) from None
        raise invalid_content(str(exc), validation_http_status) from None
    except msgspec.DecodeError as exc:
        if not body.strip():
            raise invalid_json("the body is empty") from None
        raise invalid_json(str(exc)) from None
