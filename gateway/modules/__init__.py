"""The OCPI modules, one package each, and the registry the versions module publishes from.

A module is enabled when one of our own roles plays it: a CPO platform offers ``locations`` as
SENDER, an eMSP platform offers it as RECEIVER, and a platform with both roles offers both.
Module URLs are ``/ocpi/{version}/{cpo|emsp}/{module}`` and are published ending in ``/`` so that
clients appending ``uid`` without a separator keep working (both forms route).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from gateway.settings import Settings

__all__ = ("OCPI_VERSION", "ModuleEndpoint", "enabled_endpoints", "module_path")

OCPI_VERSION = "2.2.1"


class ModuleEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    """One interface we offer: a module, the interface role, and which of our party roles plays it."""

    identifier: str
    interface_role: str
    party_role: str | None
    """``CPO``/``EMSP`` for functional modules; ``None`` for configuration modules (credentials)."""


# (identifier, interface role, party role) of every interface this build implements.
_IMPLEMENTED: tuple[ModuleEndpoint, ...] = (
    ModuleEndpoint(identifier="credentials", interface_role="SENDER", party_role=None),
)


def module_path(endpoint: ModuleEndpoint, version: str = OCPI_VERSION) -> str:
    """The path an interface is served at."""
    if endpoint.party_role is None:
        return f"/ocpi/{version}/{endpoint.identifier}"
    return f"/ocpi/{version}/{endpoint.party_role.lower()}/{endpoint.identifier}"


def enabled_endpoints(settings: Settings) -> list[ModuleEndpoint]:
    """The interfaces our roles play, in a stable order."""
    roles = {own.role for own in settings.roles}
    return [e for e in _IMPLEMENTED if e.party_role is None or e.party_role in roles]
