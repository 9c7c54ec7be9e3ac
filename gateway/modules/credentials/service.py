"""The credentials handshake, both directions, over the Store and the partner client.

Server side (a partner registers with us): :func:`accept_credentials` for POST and PUT,
:func:`unregister` for DELETE. Client side (we register with a partner): :func:`register_with`.
Every token we hand out is committed to the store before it leaves, because the partner may call
back with it at once.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec

from gateway.modules import OCPI_VERSION
from gateway.modules.credentials.models import Credentials, Version, VersionDetails
from gateway.ocpi.status import OcpiError, OcpiStatus
from gateway.ocpi.types import BusinessDetails, CredentialsRole
from gateway.push.client import PartnerCallError, ensure_success
from gateway.store.base import Partner, PartnerEndpoint, PartnerRole

if TYPE_CHECKING:
    from gateway.push.client import PartnerClient
    from gateway.settings import Settings
    from gateway.store.base import Store

__all__ = (
    "SUPPORTED_VERSIONS",
    "RegistrationError",
    "accept_credentials",
    "discover_partner",
    "new_partner_id",
    "new_token",
    "our_credentials",
    "register_with",
    "rotate_with",
    "unregister",
    "unregister_with",
)

SUPPORTED_VERSIONS: tuple[str, ...] = (OCPI_VERSION,)
"""Versions this build speaks, newest first."""


class RegistrationError(OcpiError):
    """A handshake step failed; carries the OCPI code to answer with (3001, 3002, 3003)."""


def new_token() -> str:
    """A fresh credentials token: 43 URL-safe characters (256 bits), within the spec's 64.

    Never starting with ``-``: operators pass tokens on command lines (``--token-a TOKEN``), where a
    leading dash reads as an option.
    """
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def new_partner_id() -> str:
    """A short, stable, random partner id."""
    return uuid.uuid4().hex[:12]


def our_credentials(settings: Settings, token: str) -> Credentials:
    """Our Credentials object carrying ``token`` (the token the partner must use to call us)."""
    return Credentials(
        token=token,
        url=settings.versions_url,
        roles=[
            CredentialsRole(
                role=own.role,
                business_details=BusinessDetails(name=own.business_name),
                party_id=own.party_id,
                country_code=own.country_code,
            )
            for own in settings.roles
        ],
    )


async def discover_partner(
    client: PartnerClient, versions_url: str, token: str, *, plain: bool = False, timeout: float | None = None
) -> tuple[str, tuple[PartnerEndpoint, ...]]:
    """GET a partner's versions, pick the highest mutual one, GET its details; return version and endpoints.

    Raises:
        RegistrationError: 3001 when the partner's API cannot be used, 3002 when no version is mutual,
            3003 when its details lack a credentials endpoint.
    """
    try:
        versions = await client.call_for(list[Version], "GET", versions_url, token, plain=plain, timeout=timeout)
    except PartnerCallError as exc:
        raise RegistrationError(OcpiStatus.CLIENT_API_UNUSABLE, f"Could not read the versions: {exc}") from exc
    offered = {v.version: v.url for v in versions}
    chosen = next((v for v in SUPPORTED_VERSIONS if v in offered), None)
    if chosen is None:
        raise RegistrationError(
            OcpiStatus.UNSUPPORTED_VERSION,
            f"No mutual version: we speak {', '.join(SUPPORTED_VERSIONS)}, the partner {', '.join(offered) or 'none'}",
        )
    try:
        details = await client.call_for(VersionDetails, "GET", offered[chosen], token, plain=plain, timeout=timeout)
    except PartnerCallError as exc:
        raise RegistrationError(OcpiStatus.CLIENT_API_UNUSABLE, f"Could not read version details: {exc}") from exc
    endpoints = tuple(PartnerEndpoint(identifier=e.identifier, role=e.role, url=e.url) for e in details.endpoints)
    if not any(e.identifier == "credentials" for e in endpoints):
        raise RegistrationError(OcpiStatus.NO_MATCHING_ENDPOINTS, "The partner's version details list no credentials")
    return chosen, endpoints


def _partner_roles(roles: list[CredentialsRole]) -> tuple[PartnerRole, ...]:
    return tuple(
        PartnerRole(
            country_code=r.country_code.upper(),
            party_id=r.party_id.upper(),
            role=r.role,
            business_name=r.business_details.name,
        )
        for r in roles
    )


async def accept_credentials(
    settings: Settings, store: Store, client: PartnerClient, partner: Partner, body: Credentials
) -> Credentials:
    """Server side of POST (registration) and PUT (update): fetch the partner, rotate, answer.

    The partner's new token is kept, its versions and details are fetched with it, and a fresh token
    for the partner is committed before our Credentials leave.

    Raises:
        RegistrationError: The partner could not be fetched (3001), speaks no mutual version (3002) or
            lacks endpoints (3003); nothing is changed then.
    """
    version, endpoints = await discover_partner(client, body.url, body.token, timeout=settings.partner_timeout)
    token = new_token()
    updated = msgspec.structs.replace(
        partner,
        roles=_partner_roles(body.roles),
        state="REGISTERED",
        token_in=token,
        token_out=body.token,
        versions_url=body.url,
        version=version,
        endpoints=endpoints,
        last_updated=datetime.now(UTC),
    )
    await store.save_partner(updated)
    return our_credentials(settings, token)


async def unregister(store: Store, partner: Partner) -> None:
    """Server side of DELETE: the partner's token stops opening anything."""
    await store.save_partner(msgspec.structs.replace(partner, state="UNREGISTERED", last_updated=datetime.now(UTC)))


async def register_with(
    settings: Settings, store: Store, client: PartnerClient, versions_url: str, token_a: str, *, plain: bool = False
) -> Partner:
    """Client side: register with a partner that gave us ``versions_url`` and ``token_a`` out of band.

    Steps: discover the partner with token A; commit a partner record holding our token B (PENDING, so
    the partner can read our versions with it); POST our Credentials; keep the partner's token C.
    On failure the record is removed again.

    Raises:
        RegistrationError: Discovery or the POST failed; the message says which step.
    """
    version, endpoints = await discover_partner(client, versions_url, token_a, plain=plain)
    credentials_url = next(e.url for e in endpoints if e.identifier == "credentials")
    token_b = new_token()
    now = datetime.now(UTC)
    own = settings.roles[0]
    pending = Partner(
        id=new_partner_id(),
        roles=(PartnerRole(country_code="??", party_id="???", role="OTHER", business_name=None),),
        state="PENDING",
        token_in=token_b,
        token_out=token_a,
        versions_url=versions_url,
        version=version,
        endpoints=endpoints,
        plain_auth=plain,
        created=now,
        last_updated=now,
    )
    await store.add_partner(pending)
    try:
        theirs = await client.call_for(
            Credentials, "POST", credentials_url, token_a, plain=plain, body=our_credentials(settings, token_b)
        )
    except PartnerCallError as exc:
        await store.remove_partner(pending.id)
        raise RegistrationError(
            OcpiStatus.CLIENT_API_UNUSABLE,
            f"The partner refused our credentials ({own.country_code}-{own.party_id}): {exc}",
        ) from exc
    registered = msgspec.structs.replace(
        pending,
        roles=_partner_roles(theirs.roles),
        state="REGISTERED",
        token_out=theirs.token,
        last_updated=datetime.now(UTC),
    )
    await store.save_partner(registered)
    return registered


def _credentials_url(partner: Partner) -> str:
    for endpoint in partner.endpoints:
        if endpoint.identifier == "credentials":
            return endpoint.url
    raise RegistrationError(OcpiStatus.NO_MATCHING_ENDPOINTS, f"Partner {partner.id} has no credentials endpoint")


async def rotate_with(settings: Settings, store: Store, client: PartnerClient, partner: Partner) -> Partner:
    """Client side of PUT: hand the partner a new token and receive a new one from it.

    Our new token is committed first (the partner fetches our versions with it before answering);
    if the PUT fails, the old token is restored.

    Raises:
        RegistrationError: The partner is not registered, or refused the update.
    """
    if partner.state != "REGISTERED" or not partner.token_out:
        raise RegistrationError(OcpiStatus.CLIENT_ERROR, f"Partner {partner.id} is not registered")
    url = _credentials_url(partner)
    rotating = msgspec.structs.replace(partner, token_in=new_token(), last_updated=datetime.now(UTC))
    await store.save_partner(rotating)
    try:
        theirs = await client.call_for(
            Credentials, "PUT", url, partner.token_out, plain=partner.plain_auth,
            body=our_credentials(settings, rotating.token_in),
        )
    except PartnerCallError as exc:
        await store.save_partner(partner)
        raise RegistrationError(OcpiStatus.CLIENT_API_UNUSABLE, f"The partner refused the update: {exc}") from exc
    version, endpoints = await discover_partner(client, theirs.url, theirs.token, plain=partner.plain_auth)
    updated = msgspec.structs.replace(
        rotating,
        roles=_partner_roles(theirs.roles),
        token_out=theirs.token,
        versions_url=theirs.url,
        version=version,
        endpoints=endpoints,
        last_updated=datetime.now(UTC),
    )
    await store.save_partner(updated)
    return updated


async def unregister_with(store: Store, client: PartnerClient, partner: Partner) -> Partner:
    """Client side of DELETE: end the registration on both sides.

    Raises:
        RegistrationError: The partner is not registered, or refused the DELETE (nothing changes then).
    """
    if partner.state != "REGISTERED" or not partner.token_out:
        raise RegistrationError(OcpiStatus.CLIENT_ERROR, f"Partner {partner.id} is not registered")
    try:
        reply = await client.call("DELETE", _credentials_url(partner), partner.token_out, plain=partner.plain_auth)
        ensure_success(reply, "DELETE credentials")
    except PartnerCallError as exc:
        raise RegistrationError(OcpiStatus.CLIENT_API_UNUSABLE, f"The partner refused to unregister: {exc}") from exc
    ended = msgspec.structs.replace(partner, state="UNREGISTERED", last_updated=datetime.now(UTC))
    await store.save_partner(ended)
    return ended
