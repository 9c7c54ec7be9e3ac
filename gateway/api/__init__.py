"""The back-office API the operator's own systems call (``/api/...``, ``Authorization: Bearer KEY``)."""
