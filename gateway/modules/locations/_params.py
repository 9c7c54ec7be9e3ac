"""URL segments of the location endpoints, and which parties a caller or we may act for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.modules.tokens.models import ci_key
from gateway.ocpi.status import OcpiError, OcpiStatus

if TYPE_CHECKING:
    from collections.abc import Iterable

    from litestar import Request

    from gateway.settings import Settings

__all__ = ("our_cpo_parties", "owners_of", "segment")


def segment(request: Request[Any, Any, Any], name: str, max_length: int = 36) -> str | None:
    """A path segment as a CiString of at most ``max_length`` printable ASCII characters (``None`` if absent).

    Raises:
        OcpiError: 2001 (HTTP 400) for a segment that cannot be such an identifier.
    """
    value: str | None = request.path_params.get(name)
    if value is None:
        return None
    if not value or len(value) > max_length or not value.isascii() or not value.isprintable():
        raise OcpiError(
            OcpiStatus.INVALID_PARAMETERS,
            f"URL segment {name} must be 1 to {max_length} printable ASCII characters",
            http_status=400,
        )
    return value


def owners_of(roles: Iterable[Any]) -> set[tuple[str, str]]:
    """The (country code, party id) pairs of some roles, upper-cased."""
    return {(ci_key(role.country_code), ci_key(role.party_id)) for role in roles}


def our_cpo_parties(settings: Settings) -> list[tuple[str, str]]:
    """Our own CPO parties, upper-cased, in the order the settings list them."""
    parties: list[tuple[str, str]] = []
    for role in settings.roles:
        party = (ci_key(role.country_code), ci_key(role.party_id))
        if role.role == "CPO" and party not in parties:
            parties.append(party)
    return parties
