"""The swipe fast path: ``POST /api/authorize`` served as plain ASGI, ahead of Litestar's router.

An RFID swipe is the one request a CPO's CSMS sends at volume and waits on. Litestar's routing,
handler and response machinery cost more than everything the gateway itself does for a swipe answered
from the cache, so the edge middleware hands this one route straight to :func:`authorize_asgi`. It is
the only implementation of the endpoint; its errors are the same OCPI envelopes the exception map in
app.py gives (401/403 for the key, 400 + 2001 for a bad body, 404 + 2004 for an unknown token,
500 + 3000 without detail for anything unexpected).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from litestar.exceptions import HTTPException
from msgspec import Meta

from gateway.api.auth import check_api_key
from gateway.modules.tokens.authorization import AuthorizeRequest
from gateway.modules.tokens.models import TokenType
from gateway.ocpi.body import decode_body
from gateway.ocpi.envelope import envelope_bytes
from gateway.ocpi.status import OcpiError, OcpiStatus

if TYPE_CHECKING:
    from litestar.types import Receive, Scope, Send

    from gateway.state import GatewayState

__all__ = ("FAST_ROUTES", "authorize_asgi")

log = logging.getLogger("gateway")

_JSON = [(b"content-type", b"application/json")]
_MAX_BODY = 64 * 1024


class _UncheckedRequest(msgspec.Struct, frozen=True, kw_only=True):
    """:class:`AuthorizeRequest` without its printable-ASCII patterns (same fields, lengths and defaults).

    msgspec checks a pattern with a regular expression per string, the costliest part of decoding a swipe.
    :func:`_decode_request` decodes with this type only a body whose strings cannot hold anything but
    printable ASCII, and everything else with :class:`AuthorizeRequest` itself (and its exact errors).
    """

    uid: Annotated[str, Meta(min_length=1, max_length=36)]
    type: TokenType = TokenType.RFID
    country_code: Annotated[str, Meta(min_length=1, max_length=2)] | None = None
    party_id: Annotated[str, Meta(min_length=1, max_length=3)] | None = None
    location_id: Annotated[str, Meta(min_length=1, max_length=36)] | None = None
    evse_uids: list[Annotated[str, Meta(min_length=1, max_length=36)]] | None = None


_unchecked = msgspec.json.Decoder(_UncheckedRequest)


def _decode_request(body: bytes) -> AuthorizeRequest:
    """Decode and validate a swipe's body exactly like ``decode_body(body, AuthorizeRequest, ...)``, faster.

    A body of ASCII without backslashes and without DEL holds only printable ASCII in its strings: JSON
    refuses raw control characters inside strings, and without escapes a string is its bytes.

    Raises:
        OcpiError: 2001, HTTP 400, as :func:`gateway.ocpi.body.decode_body` words it.
    """
    if body.isascii() and b"\\" not in body and b"\x7f" not in body:
        try:
            fast = _unchecked.decode(body)
        except msgspec.DecodeError:  # ValidationError included: the checked decoder words the error
            pass
        else:
            return AuthorizeRequest(
                uid=fast.uid,
                type=fast.type,
                country_code=fast.country_code,
                party_id=fast.party_id,
                location_id=fast.location_id,
                evse_uids=fast.evse_uids,
            )
    return decode_body(body, AuthorizeRequest, validation_http_status=400)


async def _read_body(receive: Receive, length: int | None) -> bytes:
    """The request body; stops as soon as ``length`` (the Content-Length) bytes are in.

    Granian hands a body over as a first message with ``more_body`` set and then an empty last one, and every
    ``receive()`` is a hop to its I/O thread and back: once the announced length has arrived, the empty last
    message is not worth waiting for.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_BODY:
            raise OcpiError(OcpiStatus.INVALID_PARAMETERS, "Request body is too large", http_status=413)
        chunks.append(chunk)
        if not message.get("more_body", False) or size == length:
            break
    return b"".join(chunks)


async def _send(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*_JSON, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def authorize_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    """``POST /api/authorize``: see :meth:`gateway.modules.tokens.authorization.Authorizer.authorize_json`."""
    state: GatewayState = scope["app"].state.gateway
    header = length = None
    for name, value in scope["headers"]:
        if name == b"authorization" and header is None:
            header = value.decode("latin-1")
        elif name == b"content-length" and value.isdigit():
            length = int(value)
    try:
        check_api_key(state.settings.api_key, header or "")
        question = _decode_request(await _read_body(receive, length))
        answer = await state.authorizer.authorize_json(question)
    except OcpiError as exc:
        await _send(send, exc.http_status, envelope_bytes(exc.status, message=exc.message))
    except HTTPException as exc:
        await _send(send, exc.status_code, envelope_bytes(OcpiStatus.CLIENT_ERROR, message=exc.detail))
    except Exception:
        log.exception("unexpected error", extra={"request_id": scope.get("state", {}).get("request_id"),
                                                 "path": scope.get("path")})
        await _send(send, 500, envelope_bytes(OcpiStatus.SERVER_ERROR,
                                              message="Internal error; the request id identifies it in our logs"))
    else:
        await _send(send, 200, answer)


FAST_ROUTES: dict[tuple[str, str], Any] = {("POST", "/api/authorize"): authorize_asgi}
"""(method, path) of the routes served ahead of the router."""
