"""Persistence: the Store protocol and its backends (SQLite embedded default, Redis for scale)."""

from __future__ import annotations

from gateway.store._codec import MAX_MICROS, to_micros
from gateway.store.base import (
    LOG_START,
    PUBLISH_MAX_LEN,
    ObjectKey,
    ObjectPage,
    OwnerObjects,
    Partner,
    PartnerEndpoint,
    PartnerRole,
    PublishedBatch,
    Store,
    StoredObject,
)

__all__ = (
    "LOG_START",
    "MAX_MICROS",
    "PUBLISH_MAX_LEN",
    "ObjectKey",
    "ObjectPage",
    "OwnerObjects",
    "Partner",
    "PartnerEndpoint",
    "PartnerRole",
    "PublishedBatch",
    "Store",
    "StoredObject",
    "create_store",
    "to_micros",
)


def create_store(url: str, *, publish_max_len: int = PUBLISH_MAX_LEN) -> Store:
    """Build the backend a store URL names: ``sqlite:///PATH`` or ``redis://HOST:PORT/DB``.

    The store is not opened yet: call ``await store.open()``. ``publish_max_len`` bounds each topic's
    change log (approximately).

    Raises:
        ValueError: The URL names no known backend.
    """
    if url.startswith("sqlite://"):
        from gateway.store.sqlite import SqliteStore

        return SqliteStore.from_url(url, publish_max_len=publish_max_len)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from gateway.store.redis import RedisStore

        return RedisStore.from_url(url, publish_max_len=publish_max_len)
    raise ValueError(f"Unknown store URL {url!r}: use sqlite:///PATH or redis://HOST:PORT/DB")
