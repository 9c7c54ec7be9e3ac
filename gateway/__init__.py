"""OCPI gateway: a fast, spec-exact OCPI 2.2.1 node for CPOs and eMSPs."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ("__version__",)

try:
    __version__ = version("ocpi-gateway")
except PackageNotFoundError:  # pragma: no cover - running from a tree that was never built
    __version__ = "0.0.0"
