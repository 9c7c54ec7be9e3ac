"""OCPI Tokens module: eMSPs push their drivers' tokens; the CPO authorises swipes from its cache."""

from __future__ import annotations

__all__ = ()
