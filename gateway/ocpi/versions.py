"""The Versions module: version information and the 2.2.1 details, generated from the enabled modules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, Request, Response, get

from gateway.modules import OCPI_VERSION, enabled_endpoints, module_path
from gateway.modules.credentials.models import Endpoint, Version, VersionDetails
from gateway.ocpi.envelope import ocpi_response
from gateway.ocpi.status import NotFoundError

if TYPE_CHECKING:
    from gateway.settings import Settings
    from gateway.state import GatewayState

__all__ = ("VersionsController", "version_details", "version_list")


def version_list(settings: Settings) -> list[Version]:
    """The versions we speak, with the URL of each one's details."""
    base = settings.base_url
    return [Version(version=OCPI_VERSION, url=f"{base}/ocpi/{OCPI_VERSION}")]


def version_details(settings: Settings) -> VersionDetails:
    """Our 2.2.1 endpoints: one per enabled module and interface role; functional URLs end in ``/``."""
    base = settings.base_url
    endpoints = []
    for endpoint in enabled_endpoints(settings):
        url = base + module_path(endpoint)
        if endpoint.party_role is not None:
            url += "/"
        endpoints.append(Endpoint(identifier=endpoint.identifier, role=endpoint.interface_role, url=url))  # type: ignore[arg-type]
    return VersionDetails(version=OCPI_VERSION, endpoints=endpoints)


class VersionsController(Controller):
    """``GET /ocpi/versions`` and ``GET /ocpi/{version}``, open to registration tokens too."""

    path = "/ocpi"

    @get("/versions")
    async def versions(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Version information."""
        state: GatewayState = request.app.state.gateway
        await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=True)
        return ocpi_response(state.version_list)

    # The static path is listed too: Litestar's router does not fall back from a static segment to a
    # parameter, so once a module route such as /ocpi/2.2.1/emsp/tariffs/{cc}/... exists, /ocpi/2.2.1
    # would no longer reach the parameter route.
    @get(["/{version:str}", f"/{OCPI_VERSION}"])
    async def details(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Version details of one version."""
        version = request.path_params.get("version", OCPI_VERSION)
        state: GatewayState = request.app.state.gateway
        await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=True)
        if version != OCPI_VERSION:
            raise NotFoundError(f"Version {version} is not supported; see /ocpi/versions")
        return ocpi_response(state.version_details)
