"""The OCPI modules, one package each, and the registry that versions and app.py read.

Each module package declares ``INTERFACES``: a tuple of ``(ModuleEndpoint, controller)`` pairs, one per
interface it implements. An interface is served and published only when one of our own roles plays
it: a CPO platform offers ``tariffs`` as SENDER, an eMSP platform offers it as RECEIVER, a platform
with both roles offers both. Functional module URLs are ``/ocpi/{version}/{cpo|emsp}/{module}`` and are
published ending in ``/`` so that clients appending ``uid`` without a separator keep working (both
forms route). To add a module: create its package, declare ``INTERFACES``, list it in ``_PACKAGES``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from gateway.settings import Settings

__all__ = ("OCPI_VERSION", "ModuleEndpoint", "enabled_endpoints", "enabled_route_handlers", "module_path")

OCPI_VERSION = "2.2.1"

_PACKAGES: tuple[str, ...] = ("credentials", "tokens", "tariffs", "locations", "sessions", "cdrs")
"""Module packages under gateway.modules, in the order their endpoints are published."""


class ModuleEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    """One interface we offer: a module, the interface role, and which of our party roles plays it."""

    identifier: str
    interface_role: str
    party_role: str | None
    """``CPO``/``EMSP`` for functional modules; ``None`` for configuration modules (credentials)."""


def module_path(endpoint: ModuleEndpoint, version: str = OCPI_VERSION) -> str:
    """The path an interface is served at."""
    if endpoint.party_role is None:
        return f"/ocpi/{version}/{endpoint.identifier}"
    return f"/ocpi/{version}/{endpoint.party_role.lower()}/{endpoint.identifier}"


def _interfaces() -> list[tuple[ModuleEndpoint, Any]]:
    pairs: list[tuple[ModuleEndpoint, Any]] = []
    for name in _PACKAGES:
        pairs.extend(importlib.import_module(f"gateway.modules.{name}").INTERFACES)
    return pairs


def _plays(settings: Settings, endpoint: ModuleEndpoint) -> bool:
    return endpoint.party_role is None or endpoint.party_role in {own.role for own in settings.roles}


def enabled_endpoints(settings: Settings) -> list[ModuleEndpoint]:
    """The interfaces our roles play, in a stable order."""
    return [endpoint for endpoint, _ in _interfaces() if _plays(settings, endpoint)]


def enabled_route_handlers(settings: Settings) -> list[Any]:
    """The controllers of the interfaces our roles play (each controller once)."""
    handlers: list[Any] = []
    for endpoint, handler in _interfaces():
        if _plays(settings, endpoint) and handler not in handlers:
            handlers.append(handler)
    return handlers
