"""Partner records managed by the operator (CLI ``partners ...`` and ``/api/partners``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import msgspec
from msgspec import Meta

from gateway.modules.credentials.service import new_partner_id, new_token
from gateway.ocpi.types import Role
from gateway.store.base import Partner, PartnerRole

if TYPE_CHECKING:
    from gateway.store.base import Store

__all__ = ("PartnerCreate", "PartnerView", "create_partner", "partner_view")


class PartnerCreate(msgspec.Struct, frozen=True, kw_only=True):
    """A partner to add. Without ``token`` a registration token A is generated for it."""

    country_code: Annotated[str, Meta(pattern=r"^[A-Za-z]{2}$")]
    party_id: Annotated[str, Meta(pattern=r"^[A-Za-z0-9]{3}$")]
    role: Role
    versions_url: Annotated[str, Meta(max_length=255, pattern=r"^https?://")] | None = None
    token: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[\x21-\x7E]+$")] | None = None
    """The token the partner already uses with us (existing credentials)."""
    token_out: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[\x21-\x7E]+$")] | None = None
    """The token we use with the partner, when known."""
    plain_auth: bool = False
    """Send our token without Base64 (2.1.1-style partners)."""


class PartnerView(msgspec.Struct, frozen=True, kw_only=True):
    """A partner as shown to operators: everything but the tokens."""

    id: str
    name: str
    state: str
    roles: tuple[PartnerRole, ...]
    versions_url: str | None
    version: str | None
    endpoints: int
    plain_auth: bool
    created: datetime
    last_updated: datetime


def partner_view(partner: Partner) -> PartnerView:
    """The operator's view of a partner record."""
    return PartnerView(
        id=partner.id,
        name=partner.name,
        state=partner.state,
        roles=partner.roles,
        versions_url=partner.versions_url,
        version=partner.version,
        endpoints=len(partner.endpoints),
        plain_auth=partner.plain_auth,
        created=partner.created,
        last_updated=partner.last_updated,
    )


async def create_partner(store: Store, data: PartnerCreate) -> tuple[Partner, str | None]:
    """Store a new partner; returns it and the generated token A (``None`` when a token was given).

    Raises:
        ValueError: The given token is already used by another partner.
    """
    now = datetime.now(UTC)
    token_a = None if data.token else new_token()
    partner = Partner(
        id=new_partner_id(),
        roles=(PartnerRole(country_code=data.country_code.upper(), party_id=data.party_id.upper(), role=data.role),),
        state="REGISTERED" if data.token else "PENDING",
        token_in=data.token or token_a or "",
        token_out=data.token_out,
        versions_url=data.versions_url,
        plain_auth=data.plain_auth,
        created=now,
        last_updated=now,
    )
    await store.add_partner(partner)
    return partner, token_a
