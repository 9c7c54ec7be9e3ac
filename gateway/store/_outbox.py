"""What both backends share for the outbox: the message encoding, input checks and fresh claim tokens.

A message is stored as the JSON of its :class:`~gateway.store.base.OutboxMessage` as added; the fields that
change while it waits (``state``, ``attempts``, ``next_attempt``, ``last_error``) live beside it and are put
back into the message when it is read.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import msgspec

from gateway.store._codec import from_micros, to_micros
from gateway.store.base import LANE_SEPARATOR, OutboxMessage

if TYPE_CHECKING:
    from collections.abc import Sequence

    from gateway.store.base import OutboxState

__all__ = ("check_messages", "decode_message", "encode_message", "new_claim_token")

_decoder = msgspec.json.Decoder(OutboxMessage)


def encode_message(message: OutboxMessage) -> bytes:
    """The message as JSON bytes."""
    return msgspec.json.encode(message)


def decode_message(
    data: bytes, *, state: OutboxState, attempts: int, next_attempt_micros: int, last_error: str | None
) -> OutboxMessage:
    """A stored message with its current state put back."""
    message = _decoder.decode(data)
    return msgspec.structs.replace(
        message, state=state, attempts=attempts, next_attempt=from_micros(next_attempt_micros), last_error=last_error
    )


def check_messages(messages: Sequence[OutboxMessage]) -> list[tuple[OutboxMessage, int]]:
    """Check messages before anything is written; returns each with its ``next_attempt`` in microseconds.

    Raises:
        ValueError: A partner id, key or message id is empty or holds the lane separator, or a time is naive.
    """
    checked = []
    for message in messages:
        for what, value in (("Message id", message.id), ("Partner id", message.partner_id), ("Key", message.key)):
            if not value or LANE_SEPARATOR in value:
                raise ValueError(f"{what} {value!r} must be non-empty and must not contain \\x1f")
        to_micros(message.created)
        checked.append((message, to_micros(message.next_attempt)))
    return checked


def new_claim_token() -> str:
    """A token no other claim has."""
    return uuid.uuid4().hex
