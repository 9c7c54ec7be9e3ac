"""CDRs module: the CPO's Sender (eMSPs pull our CDRs) and the eMSP's Receiver (CPOs post their CDRs,
which we keep immutably and serve back at the URL we answer with)."""

from __future__ import annotations

from gateway.modules import ModuleEndpoint
from gateway.modules.cdrs.receiver import CdrsReceiver
from gateway.modules.cdrs.sender import CdrsSender

__all__ = ("INTERFACES",)

INTERFACES = (
    (ModuleEndpoint(identifier="cdrs", interface_role="SENDER", party_role="CPO"), CdrsSender),
    (ModuleEndpoint(identifier="cdrs", interface_role="RECEIVER", party_role="EMSP"), CdrsReceiver),
)
