"""Tokens module: the CPO's Receiver (eMSPs push tokens), the eMSP's Sender (pull and real-time
authorisation), the per-worker Rust TokenCache kept coherent through the store's change log."""

from __future__ import annotations

from gateway.modules import ModuleEndpoint
from gateway.modules.tokens.receiver import TokensReceiver
from gateway.modules.tokens.sender import TokensSender

__all__ = ("INTERFACES",)

INTERFACES = (
    (ModuleEndpoint(identifier="tokens", interface_role="RECEIVER", party_role="CPO"), TokensReceiver),
    (ModuleEndpoint(identifier="tokens", interface_role="SENDER", party_role="EMSP"), TokensSender),
)
