"""The only importer of the Rust extension ``gateway._core``; the rest of the gateway imports from here."""

from __future__ import annotations

from gateway import _core
from gateway._core import (
    CompiledTariff,
    CoreError,
    PricingError,
    TokenCache,
    core_version,
    price_cdr,
    price_cdr_batch,
    price_session,
    validate_tokens,
    whitelist_decision,
)

__all__ = (
    "CompiledTariff",
    "CoreError",
    "PricingError",
    "TokenCache",
    "core_version",
    "extension_version",
    "price_cdr",
    "price_cdr_batch",
    "price_session",
    "validate_tokens",
    "whitelist_decision",
)


def extension_version() -> str:
    """Return the version of the compiled Rust core, as written in rust_core/Cargo.toml."""
    return str(_core.__version__)
