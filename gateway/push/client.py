"""The HTTP client for calls to partners: pooled connections, OCPI headers, lenient envelope reading.

Success is decided by the envelope's ``status_code`` whenever the body parses, whatever the HTTP status
(many peers send 4xx with 2xxx codes, or 200 with 3xxx); bodies without an envelope are judged by the
HTTP status. Tokens are sent as ``Token <base64>`` unless the partner is marked plain.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import httpx
import msgspec

from gateway.ocpi.auth import authorization_value

__all__ = ("PartnerCallError", "PartnerClient", "PartnerReply", "ensure_success")

T = TypeVar("T")


class PartnerCallError(Exception):
    """A call to a partner failed: unreachable, timed out, not OCPI, or answered with a non-1xxx code."""

    def __init__(self, message: str, *, http_status: int | None = None, ocpi_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.ocpi_status = ocpi_status


class PartnerReply(msgspec.Struct, frozen=True, kw_only=True):
    """A partner's answer: the HTTP status, the OCPI status (if an envelope came) and ``data`` as raw JSON."""

    http_status: int
    ocpi_status: int | None
    message: str | None
    data: msgspec.Raw | None
    headers: dict[str, str]


class _LenientEnvelope(msgspec.Struct, kw_only=True):
    status_code: int
    status_message: str | None = None
    data: msgspec.Raw = msgspec.Raw(b"")  # absent and null both mean no data


class PartnerClient:
    """One pooled ``httpx.AsyncClient`` per worker for every partner call."""

    def __init__(self, timeout: float = 10.0, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            transport=transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._http.aclose()

    async def call(
        self,
        method: str,
        url: str,
        token: str,
        *,
        plain: bool = False,
        body: Any = None,
        timeout: float | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> PartnerReply:
        """Send one OCPI request and read the envelope.

        Raises:
            PartnerCallError: The partner was unreachable, timed out, or sent no usable answer.
        """
        sent = {
            "Authorization": authorization_value(token, plain=plain),
            "X-Request-ID": str(uuid.uuid4()),
            "X-Correlation-ID": str(uuid.uuid4()),
            **(headers or {}),
        }
        content = None
        if body is not None:
            content = msgspec.json.encode(body)
            sent["Content-Type"] = "application/json"
        try:
            response = await self._http.request(
                method, url, content=content, headers=sent, params=params, timeout=timeout or httpx.USE_CLIENT_DEFAULT
            )
        except httpx.TimeoutException as exc:
            raise PartnerCallError(f"{method} {url} timed out") from exc
        except httpx.HTTPError as exc:
            raise PartnerCallError(f"{method} {url} failed: {type(exc).__name__}") from exc
        try:
            envelope = msgspec.json.decode(response.content, type=_LenientEnvelope)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return PartnerReply(
                http_status=response.status_code,
                ocpi_status=None,
                message=None,
                data=None,
                headers=dict(response.headers),
            )
        return PartnerReply(
            http_status=response.status_code,
            ocpi_status=envelope.status_code,
            message=envelope.status_message,
            data=envelope.data if bytes(envelope.data) not in (b"", b"null") else None,
            headers=dict(response.headers),
        )

    async def call_for(self, kind: type[T], method: str, url: str, token: str, **kwargs: Any) -> T:
        """Send one request and decode a successful answer's ``data`` as ``kind``.

        A one-element list is accepted where an object is expected (seen in peers).

        Raises:
            PartnerCallError: The call failed, the answer was not a success, or ``data`` did not decode.
        """
        reply = await self.call(method, url, token, **kwargs)
        ensure_success(reply, f"{method} {url}")
        if reply.data is None:
            raise PartnerCallError(f"{method} {url} answered without data", http_status=reply.http_status)
        try:
            return msgspec.json.decode(reply.data, type=kind)
        except msgspec.ValidationError as first:
            try:
                items = msgspec.json.decode(reply.data, type=list[kind])  # type: ignore[valid-type]
            except msgspec.ValidationError:
                raise PartnerCallError(f"{method} {url} answered with unusable data: {first}") from first
            if len(items) == 1:
                return items[0]
            raise PartnerCallError(f"{method} {url} answered with unusable data: {first}") from first


def ensure_success(reply: PartnerReply, what: str) -> None:
    """Raise unless the reply is an OCPI success (1xxx), or a 2xx without an envelope."""
    if reply.ocpi_status is not None:
        if 1000 <= reply.ocpi_status < 2000:
            return
        raise PartnerCallError(
            f"{what} answered OCPI {reply.ocpi_status}: {reply.message or 'no message'}",
            http_status=reply.http_status,
            ocpi_status=reply.ocpi_status,
        )
    if 200 <= reply.http_status < 300:
        return
    raise PartnerCallError(
        f"{what} answered HTTP {reply.http_status} without an OCPI body", http_status=reply.http_status
    )
