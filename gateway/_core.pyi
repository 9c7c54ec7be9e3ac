"""Typed, documented contract of the Rust extension ``gateway._core``."""

__version__: str

class CoreError(ValueError):
    """Base error of the Rust core: bad input bytes, invalid tariffs or CDRs. A ``ValueError``."""

def core_version() -> str:
    """Return the version of the Rust core.

    Returns:
        The crate version from ``rust_core/Cargo.toml``.
    """
