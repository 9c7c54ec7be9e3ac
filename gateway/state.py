"""What one worker holds while it runs: settings, the open store, the partner client, the auth cache,
the token cache, the authoriser and the push outbox.

Built by ``app.py`` in the lifespan and reachable from handlers as ``request.app.state.gateway``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from gateway.core import TokenCache
from gateway.modules.tokens.authorization import Authorizer
from gateway.modules.tokens.service import TokenService
from gateway.ocpi.auth import PartnerCache
from gateway.ocpi.versions import version_details, version_list
from gateway.push.outbox import Outbox, OutboxConfig

if TYPE_CHECKING:
    from gateway.push.client import PartnerClient
    from gateway.settings import Settings
    from gateway.store.base import Store

__all__ = ("GatewayState",)


class GatewayState:
    """The per-worker runtime of the gateway."""

    def __init__(self, settings: Settings, store: Store, client: PartnerClient) -> None:
        self.settings = settings
        self.store = store
        self.client = client
        self.partners = PartnerCache(store)
        self.tokens = TokenService(store, TokenCache(allowed_policy=settings.allowed_policy))
        self.authorizer = Authorizer(settings, store, client, self.tokens)
        self.outbox = Outbox(store, client, OutboxConfig.from_settings(settings), own_roles=settings.roles)
        """Modules push changes to partners through it; its worker runs when ``settings.outbox_worker``."""
        # Answers that only change with the settings are encoded once.
        self.version_list = msgspec.Raw(msgspec.json.encode(version_list(settings)))
        self.version_details = msgspec.Raw(msgspec.json.encode(version_details(settings)))
