"""Persistence: the Store protocol and its backends (SQLite embedded default, Redis for scale)."""

from __future__ import annotations

from gateway.store.base import ObjectKey, ObjectPage, Partner, PartnerEndpoint, PartnerRole, Store, StoredObject

__all__ = (
    "ObjectKey",
    "ObjectPage",
    "Partner",
    "PartnerEndpoint",
    "PartnerRole",
    "Store",
    "StoredObject",
    "create_store",
)


def create_store(url: str) -> Store:
    """Build the backend a store URL names: ``sqlite:///PATH`` or ``redis://HOST:PORT/DB``.

    The store is not opened yet: call ``await store.open()``.

    Raises:
        ValueError: The URL names no known backend.
    """
    if url.startswith("sqlite://"):
        from gateway.store.sqlite import SqliteStore

        return SqliteStore.from_url(url)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from gateway.store.redis import RedisStore

        return RedisStore.from_url(url)
    raise ValueError(f"Unknown store URL {url!r}: use sqlite:///PATH or redis://HOST:PORT/DB")
