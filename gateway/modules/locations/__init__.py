"""Locations module: the CPO's Sender (partners pull our network), the eMSP's Receiver (CPOs push theirs),
and the service the back-office API uses to keep our own network up to date."""

from __future__ import annotations

from gateway.modules import ModuleEndpoint
from gateway.modules.locations.receiver import LocationsReceiver
from gateway.modules.locations.sender import LocationsSender

__all__ = ("INTERFACES",)

INTERFACES = (
    (ModuleEndpoint(identifier="locations", interface_role="SENDER", party_role="CPO"), LocationsSender),
    (ModuleEndpoint(identifier="locations", interface_role="RECEIVER", party_role="EMSP"), LocationsReceiver),
)
