"""Tests of gateway.modules.tokens."""
