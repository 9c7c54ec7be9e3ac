"""Credentials module: registration, token rotation and unregistration, in both directions."""
