"""Credentials-token authentication of OCPI requests.

``Authorization: Token <base64(token)>`` (2.2.1) and the plain ``Token <token>`` of 2.1.1-style peers
are both accepted: the Base64 reading is tried first (one trailing newline stripped, as the spec's own
samples carry one), then the raw value. Tokens are looked up by the store (constant-time comparison)
and never logged. A registration token (A, or our B while we register) opens only ``versions`` and
``credentials``.
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import TYPE_CHECKING

from gateway.ocpi.status import UnauthorizedError

if TYPE_CHECKING:
    from gateway.store.base import Partner, Store

__all__ = ("PartnerCache", "authorization_value", "token_candidates")

_CACHE_SECONDS = 1.0
_CACHE_MAX = 10_000


def token_candidates(header: str | None) -> list[str]:
    """The tokens an ``Authorization`` header may carry, most likely first.

    Raises:
        UnauthorizedError: The header is missing or not of the ``Token <value>`` form.
    """
    if not header:
        raise UnauthorizedError("Authorization header missing")
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "token" or not value:
        raise UnauthorizedError("Authorization header must be 'Token <credentials token>'")
    candidates = []
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    decoded = decoded.removesuffix("\n")
    if decoded and decoded.isprintable() and " " not in decoded:
        candidates.append(decoded)
    if value not in candidates:
        candidates.append(value)
    return candidates


def authorization_value(token: str, *, plain: bool = False) -> str:
    """The ``Authorization`` header we send: Base64 without a trailing newline, or plain for 2.1.1 peers."""
    if plain:
        return f"Token {token}"
    return "Token " + base64.b64encode(token.encode()).decode("ascii")


class PartnerCache:
    """Finds the partner behind a token, caching hits for a second so hot endpoints skip the store.

    Only registered partners are cached. A change made by this worker (registration, rotation,
    removal) clears the cache at once; other workers and hosts see a revoked token within a second.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._hits: dict[str, tuple[float, Partner]] = {}

    def clear(self) -> None:
        """Forget every cached partner (after a change to any partner)."""
        self._hits.clear()

    async def authenticate(self, header: str | None, *, registration_allowed: bool) -> Partner:
        """Return the partner that owns the header's token.

        Args:
            header: The ``Authorization`` header value.
            registration_allowed: Whether a registration token (state PENDING) may pass: only for
                ``versions`` and ``credentials``.

        Raises:
            UnauthorizedError: No known partner owns the token, the partner is unregistered, or a
                registration token was used on a functional module.
        """
        now = time.monotonic()
        for token in token_candidates(header):
            cached = self._hits.get(token)
            if cached is not None and cached[0] > now:
                partner = cached[1]
            else:
                found = await self._store.find_partner_by_token(token)
                if found is None:
                    continue
                partner = found
                # Only registered partners are cached: a registration token is used a few times, and a
                # stale PENDING entry would refuse the partner's first calls after a handshake finished
                # in another process.
                if partner.state == "REGISTERED":
                    if len(self._hits) >= _CACHE_MAX:
                        self._hits.clear()
                    self._hits[token] = (now + _CACHE_SECONDS, partner)
            if partner.state == "REGISTERED" or (partner.state == "PENDING" and registration_allowed):
                return partner
            if partner.state == "PENDING":
                raise UnauthorizedError("A registration token only opens the versions and credentials modules")
            break
        raise UnauthorizedError("Unknown or revoked credentials token")
