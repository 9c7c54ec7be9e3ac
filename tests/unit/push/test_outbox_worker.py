"""The outbox worker against a real receiving partner over HTTP, on both stores. Bounded waits, no timing asserts."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from gateway.push.outbox import Outbox, get_policies, get_policy, new_message, set_policy
from gateway.store.base import OutboxCount
from tests.unit.push.conftest import FAST, OWN_ROLES, partner_of
from tests.unit.push.receiver_stub import Answer, wait_until

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from gateway.push.client import PartnerClient, PartnerReply
    from gateway.store.base import OutboxMessage, OutboxState, Store
    from tests.unit.push.receiver_stub import ReceiverStub

LOC = "/NL/CPO/LOC1"


async def fan_out(outbox: Outbox, *args: Any, **kwargs: Any) -> list[OutboxMessage]:
    """Address a message to every partner with the endpoint (:meth:`Outbox.addressed`) and enqueue them."""
    messages = await outbox.addressed(*args, **kwargs)
    await outbox.enqueue(messages)
    return messages


def body(n: int) -> bytes:
    return msgspec.json.encode({"n": n, "last_updated": "2026-01-01T00:00:00Z"})


async def drained(store: Store) -> bool:
    """Nothing pending, in flight or dead."""
    return await store.outbox_counts(now=datetime.now(UTC)) == []


def state_is(store: Store, message_id: str, state: OutboxState) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        message = await store.outbox_get(message_id)
        return message is not None and message.state == state

    return check


async def test_outbox_fan_out_reaches_every_partner_with_the_endpoint(
    store: Store, outbox: Outbox, stub: ReceiverStub
) -> None:
    await store.add_partner(partner_of(stub, "emsp1"))
    await store.add_partner(partner_of(stub, "emsp2", plain_auth=True))
    await store.add_partner(partner_of(stub, "tokens-only", modules=("tokens",)))
    await store.add_partner(partner_of(stub, "gone", state="UNREGISTERED"))
    messages = await fan_out(outbox, "locations", "PATCH", LOC, body(1), "locations:NL:CPO:LOC1")
    assert sorted(m.partner_id for m in messages) == ["emsp1", "emsp2"]
    assert {m.policy for m in messages} == {"send_once"}
    await outbox.start()
    await wait_until(lambda: stub.count() == 2, "both deliveries")
    await wait_until(lambda: drained(store), "the outbox to drain")
    by_token = {r.headers["authorization"]: r for r in stub.received}
    encoded = base64.b64encode(b"out-emsp1").decode()
    first = by_token[f"Token {encoded}"]
    assert (first.method, first.path, first.body) == ("PATCH", "/ocpi/emsp/2.2.1/locations/NL/CPO/LOC1", body(1))
    assert first.headers["content-type"] == "application/json"
    assert first.headers["ocpi-to-party-id"] == "SP1"
    assert (first.headers["ocpi-from-country-code"], first.headers["ocpi-from-party-id"]) == ("NL", "CPO")
    assert "Token out-emsp2" in by_token  # plain auth as the partner asked


async def test_outbox_keeps_order_per_object_while_objects_go_concurrently(
    store: Store, outbox: Outbox, stub: ReceiverStub
) -> None:
    await store.add_partner(partner_of(stub, "emsp1"))
    await store.add_partner(partner_of(stub, "emsp2"))
    sent: dict[str, list[int]] = {}
    for n in range(12):
        for obj in ("A", "B", "C", "D"):
            await fan_out(outbox, "locations", "PATCH", f"/NL/CPO/{obj}", body(n), f"locations:NL:CPO:{obj}")
            sent.setdefault(obj, []).append(n)
    await outbox.start()
    await wait_until(lambda: stub.count() == 2 * 12 * 4, "every delivery")
    await wait_until(lambda: drained(store), "the outbox to drain")
    for token in ("out-emsp1", "out-emsp2"):
        header = f"Token {base64.b64encode(token.encode()).decode()}"
        for obj, numbers in sent.items():
            got = [
                r.json()["n"] for r in stub.received if r.headers["authorization"] == header and r.path.endswith(obj)
            ]
            assert got == numbers
    assert stub.max_in_flight_per_lane == 1  # never two messages of one object to one partner at once


async def test_outbox_sends_many_objects_at_once(store: Store, outbox: Outbox, stub: ReceiverStub) -> None:
    await store.add_partner(partner_of(stub))
    stub.default = Answer(hang=True)
    for obj in "ABCDE":
        await fan_out(outbox, "locations", "PUT", f"/NL/CPO/{obj}", body(0), f"locations:NL:CPO:{obj}")
    await outbox.start()
    await wait_until(lambda: stub.in_flight == 5, "five objects in flight at the same time")
    counts = await store.outbox_counts(now=datetime.now(UTC))
    assert counts == [OutboxCount(partner_id="emsp1", in_flight=5)]
    stub.release()
    await wait_until(lambda: drained(store), "the outbox to drain")


async def test_outbox_backs_off_then_succeeds(store: Store, outbox: Outbox, stub: ReceiverStub) -> None:
    await store.add_partner(partner_of(stub))
    stub.fail_next(3)  # 503 without a body: it never reached the receiver
    (message,) = await fan_out(outbox, "locations", "PUT", LOC, body(1), "locations:NL:CPO:LOC1")
    (later,) = await fan_out(outbox, "locations", "PATCH", LOC, body(2), "locations:NL:CPO:LOC1")
    await outbox.start()
    await wait_until(lambda: drained(store), "the outbox to drain")
    assert [r.json()["n"] for r in stub.received] == [1, 1, 1, 1, 2]
    assert message.policy == later.policy == "send_once"


@pytest.mark.parametrize("failure", [Answer(http=500, code=None), Answer(code=3000), Answer(http=500, code=3001)])
async def test_outbox_until_accepted_retries_server_errors(
    store: Store, outbox: Outbox, stub: ReceiverStub, failure: Answer
) -> None:
    await store.add_partner(partner_of(stub))
    stub.fail_next(2, failure)
    await fan_out(outbox, "locations", "PUT", LOC, body(1), "locations:NL:CPO:LOC1", policy="until_accepted")
    await outbox.start()
    await wait_until(lambda: drained(store), "the outbox to drain")
    assert stub.count() == 3


@pytest.mark.parametrize("policy", ["send_once", "until_accepted"])
async def test_outbox_refusal_is_dead_at_once_and_frees_the_lane(
    store: Store, outbox: Outbox, stub: ReceiverStub, policy: str
) -> None:
    await store.add_partner(partner_of(stub))
    stub.then(Answer(code=2001))
    (refused,) = await fan_out(outbox, "locations", "PATCH", LOC, body(1), "locations:NL:CPO:LOC1", policy=policy)  # type: ignore[arg-type]
    await fan_out(outbox, "locations", "PATCH", LOC, body(2), "locations:NL:CPO:LOC1", policy=policy)  # type: ignore[arg-type]
    await outbox.start()
    await wait_until(lambda: stub.count() == 2, "both messages sent")
    await wait_until(state_is(store, refused.id, "dead"), "the refused message to be dead")
    (dead,) = await store.outbox_dead()
    assert dead.attempts == 1
    assert "OCPI 2001" in (dead.last_error or "")
    assert [r.json()["n"] for r in stub.received] == [1, 2]


async def test_outbox_http_4xx_without_envelope_is_a_refusal(store: Store, outbox: Outbox, stub: ReceiverStub) -> None:
    await store.add_partner(partner_of(stub))
    stub.then(Answer(http=404, code=None))
    (message,) = await fan_out(outbox, "locations", "PATCH", LOC, body(1), "locations:NL:CPO:LOC1")
    await outbox.start()
    await wait_until(state_is(store, message.id, "dead"), "the message to be dead")
    assert stub.count() == 1


async def test_outbox_gives_up_after_max_attempts(store: Store, client: PartnerClient, stub: ReceiverStub) -> None:
    await store.add_partner(partner_of(stub))
    stub.default = Answer(http=503, code=None)
    box = Outbox(store, client, msgspec.structs.replace(FAST, max_attempts=3))
    (message,) = await fan_out(box, "cdrs", "POST", "", body(1), "cdrs:NL:CPO:CDR1")
    assert message.policy == "until_accepted"  # the module default for CDRs
    await box.start()
    try:
        await wait_until(state_is(store, message.id, "dead"), "the message to be dead")
    finally:
        await box.stop()
    assert stub.count() == 3
    dead = await store.outbox_get(message.id)
    assert dead is not None
    assert dead.attempts == 3


async def test_outbox_send_once_takes_an_answer_as_final(store: Store, outbox: Outbox, stub: ReceiverStub) -> None:
    await store.add_partner(partner_of(stub))
    stub.then(Answer(code=3000), Answer(code=3000))
    (once,) = await fan_out(outbox, "locations", "PUT", "/NL/CPO/A", body(1), "locations:NL:CPO:A", policy="send_once")
    await outbox.start()
    await wait_until(state_is(store, once.id, "dead"), "the send_once message to be dead")
    assert stub.count() == 1
    (stored,) = await fan_out(outbox,
        "locations", "PUT", "/NL/CPO/B", body(2), "locations:NL:CPO:B", policy="until_accepted"
    )
    await wait_until(lambda: gone(store, stored.id), "the until_accepted message to be delivered")
    assert stub.count() == 3  # 3000, then accepted on the retry


async def gone(store: Store, message_id: str) -> bool:
    return await store.outbox_get(message_id) is None


async def test_outbox_send_once_still_retries_what_never_arrived(
    store: Store, outbox: Outbox, stub: ReceiverStub
) -> None:
    closed = partner_of(stub)
    dead_port = msgspec.structs.replace(
        closed.endpoints[0], url="http://127.0.0.1:9/ocpi/emsp/2.2.1/locations"
    )  # discard port: connection refused
    await store.add_partner(msgspec.structs.replace(closed, endpoints=(dead_port,)))
    (message,) = await fan_out(outbox, "locations", "PUT", LOC, body(1), "locations:NL:CPO:LOC1", policy="send_once")
    await outbox.start()

    async def retried() -> bool:
        current = await store.outbox_get(message.id)
        return current is not None and current.state == "pending" and current.attempts >= 3

    await wait_until(retried, "three attempts, still pending")
    current = await store.outbox_get(message.id)
    assert current is not None
    assert "failed" in (current.last_error or "")


async def test_outbox_partner_override_beats_the_module_default(
    store: Store, outbox: Outbox, stub: ReceiverStub
) -> None:
    await store.add_partner(partner_of(stub, "emsp1"))
    await store.add_partner(partner_of(stub, "hub01"))
    await set_policy(store, "hub01", "until_accepted")
    assert await get_policy(store, "hub01") == "until_accepted"
    assert await get_policy(store, "emsp1") is None
    messages = await fan_out(outbox, "locations", "PUT", LOC, body(1), "locations:NL:CPO:LOC1")
    assert {m.partner_id: m.policy for m in messages} == {"emsp1": "send_once", "hub01": "until_accepted"}
    await set_policy(store, "hub01", None)
    assert await get_policy(store, "hub01") is None
    with pytest.raises(ValueError, match="Policy"):
        await set_policy(store, "hub01", "sometimes")  # type: ignore[arg-type]


async def test_outbox_policies_are_read_in_one_go_for_every_partner(store: Store) -> None:
    assert await get_policies(store) == {}
    await set_policy(store, "hub01", "until_accepted")
    await set_policy(store, "emsp1", "send_once")
    await set_policy(store, "emsp2", "until_accepted")
    await set_policy(store, "emsp2", None)
    assert await get_policies(store) == {"hub01": "until_accepted", "emsp1": "send_once"}


async def test_outbox_cdr_post_is_acknowledged_once_and_hooks_see_the_location(
    store: Store, client: PartnerClient, stub: ReceiverStub
) -> None:
    partner = partner_of(stub)
    await store.add_partner(partner)
    stub.default = Answer(http=201, headers={"Location": f"{stub.base}/cdrs/CDR1"})
    seen: list[tuple[str, str | None]] = []

    async def remember(message: OutboxMessage, reply: PartnerReply) -> None:
        seen.append((message.id, reply.headers.get("location")))

    box = Outbox(store, client, FAST, own_roles=OWN_ROLES)
    box.on_delivered("cdrs", remember)
    message = new_message(partner, "cdrs", "POST", "", body(1), "cdrs:NL:CPO:CDR1")
    assert await box.enqueue([message]) == 1
    assert await box.enqueue([message]) == 0  # enqueueing the same message twice is harmless
    await box.start()
    await wait_until(lambda: seen != [], "the delivery hook")
    await box.stop()
    assert seen == [(message.id, f"{stub.base}/cdrs/CDR1")]
    received = stub.received[0]
    assert (received.method, received.path) == ("POST", "/ocpi/emsp/2.2.1/cdrs")
    # a restarted worker finds nothing to send again
    again = Outbox(store, client, FAST)
    await again.start()
    await again.stop()
    assert stub.count() == 1
    assert await drained(store)


async def test_outbox_message_to_a_removed_partner_is_dead(store: Store, outbox: Outbox, stub: ReceiverStub) -> None:
    partner = partner_of(stub)
    await store.add_partner(partner)
    (message,) = await fan_out(outbox, "locations", "PUT", LOC, body(1), "locations:NL:CPO:LOC1")
    await store.remove_partner(partner.id)
    await outbox.start()
    await wait_until(state_is(store, message.id, "dead"), "the message to be dead")
    dead = await store.outbox_get(message.id)
    assert dead is not None
    assert "unknown" in (dead.last_error or "")
    assert stub.count() == 0


async def test_outbox_claim_of_a_crashed_worker_is_taken_over_after_the_lease(
    make_store: Callable[[], Store], client: PartnerClient, stub: ReceiverStub
) -> None:
    short_lease = msgspec.structs.replace(FAST, lease=1.0)
    first_store, second_store = make_store(), make_store()
    await first_store.open()
    await second_store.open()
    try:
        await first_store.add_partner(partner_of(stub))
        crashing = Outbox(first_store, client, short_lease)
        (message,) = await fan_out(crashing, "cdrs", "POST", "", body(1), "cdrs:NL:CPO:CDR1")
        stub.then(Answer(hang=True))
        await crashing.start()
        await wait_until(lambda: stub.in_flight == 1, "the first attempt to reach the partner")
        await crashing.worker.abort()  # dies mid-flight: no answer read, nothing acknowledged or released
        stub.release()
        taking_over = Outbox(second_store, client, short_lease)
        await taking_over.start()
        try:
            await wait_until(lambda: drained(second_store), "the other worker to deliver it")
        finally:
            await taking_over.stop()
        assert [r.body for r in stub.received] == [body(1), body(1)]
        assert await second_store.outbox_get(message.id) is None
    finally:
        await first_store.close()
        await second_store.close()


async def test_outbox_graceful_stop_hands_claims_back_at_once(
    store: Store, client: PartnerClient, outbox: Outbox, stub: ReceiverStub
) -> None:
    await store.add_partner(partner_of(stub))
    stub.then(Answer(hang=True))
    (message,) = await fan_out(outbox, "locations", "PUT", LOC, body(1), "locations:NL:CPO:LOC1")
    await outbox.start()
    await wait_until(lambda: stub.in_flight == 1, "the attempt to reach the partner")
    await outbox.stop(grace=0.0)
    counts = await store.outbox_counts(now=datetime.now(UTC))
    assert counts == [OutboxCount(partner_id="emsp1", pending=1)]  # not held until a 30 s lease ends
    stub.release()
    successor = Outbox(store, client, FAST)
    await successor.start()
    try:
        await wait_until(lambda: drained(store), "the successor to deliver it")
    finally:
        await successor.stop()
    assert await store.outbox_get(message.id) is None
