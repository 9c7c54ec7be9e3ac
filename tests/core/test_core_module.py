"""Contract tests of the extension module itself."""

from __future__ import annotations

import gateway
from gateway import core


def test_core_version_matches_package() -> None:
    assert core.core_version() == core.extension_version()
    assert gateway.__version__ == core.core_version()


def test_core_error_is_value_error() -> None:
    assert issubclass(core.CoreError, ValueError)
