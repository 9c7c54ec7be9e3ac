"""Tariffs module: our own tariffs as CPO (Sender), partners' tariffs as eMSP (Receiver)."""

from __future__ import annotations

from gateway.modules import ModuleEndpoint
from gateway.modules.tariffs.receiver import TariffsReceiverController
from gateway.modules.tariffs.sender import TariffsSenderController

__all__ = ("INTERFACES",)

INTERFACES = (
    (ModuleEndpoint(identifier="tariffs", interface_role="SENDER", party_role="CPO"), TariffsSenderController),
    (ModuleEndpoint(identifier="tariffs", interface_role="RECEIVER", party_role="EMSP"), TariffsReceiverController),
)
