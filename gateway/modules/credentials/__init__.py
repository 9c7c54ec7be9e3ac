"""Credentials module: registration, token rotation and unregistration, in both directions."""

from __future__ import annotations

from gateway.modules import ModuleEndpoint
from gateway.modules.credentials.receiver import CredentialsController

__all__ = ("INTERFACES",)

INTERFACES = (
    (ModuleEndpoint(identifier="credentials", interface_role="SENDER", party_role=None), CredentialsController),
)
