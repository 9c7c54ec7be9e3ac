"""Sessions module: the CPO's Sender (eMSPs pull our sessions, set charging preferences) and the
eMSP's Receiver (CPOs push their sessions to us). The classes shared with CDRs live in ``models``."""

from __future__ import annotations

from gateway.modules import ModuleEndpoint
from gateway.modules.sessions.receiver import SessionsReceiver
from gateway.modules.sessions.sender import SessionsSender

__all__ = ("INTERFACES",)

INTERFACES = (
    (ModuleEndpoint(identifier="sessions", interface_role="SENDER", party_role="CPO"), SessionsSender),
    (ModuleEndpoint(identifier="sessions", interface_role="RECEIVER", party_role="EMSP"), SessionsReceiver),
)
