"""Calls to partners: the partner HTTP client (and, later, the durable outbox)."""
