"""§3.5 Delivery status."""

from __future__ import annotations

from typing import Any

import pytest

from .expect import example, examples, expect_empty, expect_error, expect_json
from .targets import Target
from .wire import Wire, new_id

rule = pytest.mark.rule


def sent_message(amojo: Wire) -> str:
    """amojo id of a fresh message (the path takes amojo's id, §3.5)."""
    msgid: str = expect_json(amojo.incoming(new_id("conv"), new_id("user")), 200)["new_message"]["msgid"]
    return msgid


def statuses(target: Target, amojo: Wire, msgid: str) -> list[dict[str, Any]]:
    messages = target.state(amojo.channel.scope_id)["messages"]
    found: list[dict[str, Any]] = next(m["statuses"] for m in messages if m["id"] == msgid)
    return found


@rule("§3.5", evidence="doc")
@pytest.mark.parametrize(
    "name",
    [
        "delivery_status.request.vector.json",
        "delivery_status.request.doc-php-sample.json",
        "delivery_status.request.client-nulls.json",
        "delivery_status.request.doc-fields-status-code.json",
    ],
)
def test_delivery_status_answers_200_without_body(amojo: Wire, name: str) -> None:
    """Documented bodies (vector, PHP sample, amotop's nulls, the table's status_code) answer 200 with no body."""
    msgid = sent_message(amojo)
    body = example(name)
    if "msgid" in body:
        body["msgid"] = msgid
    expect_empty(amojo.delivery_status(msgid, body), 200)


@rule("§3.5", evidence="doc")
def test_delivery_status_of_unknown_message_is_404(amojo: Wire, target: Target) -> None:
    """A status for a message amojo does not know: 404."""
    ghost = "00000000-0000-4000-8000-00000000dead"
    response = amojo.delivery_status(ghost, {"msgid": ghost, "delivery_status": 1})
    expect_error(response, 404, "MESSAGE_NOT_FOUND", fake=target.is_fake)


@rule("§3.5", evidence="doc")
@pytest.mark.parametrize("name", examples("invalid/delivery_status.request.*.json"))
def test_invalid_delivery_status_bodies_are_400(amojo: Wire, target: Target, name: str) -> None:
    """Unknown status or error code, -1 without error_code, 905 without text, a string status: 400."""
    msgid = sent_message(amojo)
    expect_error(amojo.delivery_status(msgid, example(name)), 400, "SCHEMA_VIOLATION", fake=target.is_fake)


@rule("§3.5", evidence="doc")
@pytest.mark.fake_only("reads the statuses the CRM recorded")
def test_statuses_are_recorded_in_order_with_error_text(amojo: Wire, target: Target) -> None:
    """delivered (1), read (2) and error (-1, 905, text) are kept in the order reported."""
    msgid = sent_message(amojo)
    for body in ({"delivery_status": 1}, {"delivery_status": 2}, {"delivery_status": -1, "error_code": 905, "error": "Blocked"}):
        expect_empty(amojo.delivery_status(msgid, {"msgid": msgid, **body}), 200)
    recorded = statuses(target, amojo, msgid)
    assert [(s["status"], s["code"]) for s in recorded] == [("delivered", 1), ("read", 2), ("error", -1)]
    assert recorded[-1]["error_code"] == 905
    assert recorded[-1]["error"] == "Blocked"


@rule("§3.4", evidence="doc")
@pytest.mark.fake_only("reads the statuses the CRM recorded")
def test_edit_message_can_carry_a_delivery_status(amojo: Wire, target: Target) -> None:
    """edit_message with message.delivery_status records the status (edit-only field)."""
    conversation, msgid = new_id("conv"), new_id("msg")
    amojo_id = expect_json(amojo.incoming(conversation, new_id("user"), msgid=msgid), 200)["new_message"]["msgid"]
    body = example("message.request.constructed-edit-delivery-status.json")
    body["payload"]["msgid"] = msgid
    expect_json(amojo.send("POST", amojo.channel.scope_id, body), 200)
    assert [(s["code"], s["error_code"]) for s in statuses(target, amojo, amojo_id)] == [(-1, 905)]
