"""Wire models of the Credentials and Versions modules."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from gateway.ocpi.types import URL, CredentialsRole, InterfaceRole, ModuleID, OcpiStruct

__all__ = ("Credentials", "Endpoint", "Version", "VersionDetails")

CredentialsToken = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[\x21-\x7E]+$")]
"""Printable ASCII without whitespace, at most 64 characters."""


class Credentials(OcpiStruct, frozen=True):
    """What a platform tells its partner: the token to call it with, its versions URL and its roles."""

    token: CredentialsToken
    url: URL
    roles: Annotated[list[CredentialsRole], Meta(min_length=1)]


class Version(OcpiStruct, frozen=True):
    """One supported version and the URL of its details."""

    version: Annotated[str, Meta(max_length=10)]
    url: URL


class Endpoint(OcpiStruct, frozen=True):
    """One module endpoint in version details."""

    identifier: ModuleID
    role: InterfaceRole
    url: URL


class VersionDetails(OcpiStruct, frozen=True):
    """A version and its endpoints."""

    version: Annotated[str, Meta(max_length=10)]
    endpoints: Annotated[list[Endpoint], Meta(min_length=1)]
