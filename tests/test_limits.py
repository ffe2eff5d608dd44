"""Limits (mock_amojo/wire/_limits.py): what the fake refuses up front, so that nothing it accepts breaks a read.

Each refusal case replays a report of issue #14: a body the fake used to accept with 200 — a timestamp
beyond 64 bits once made milliseconds (defect 1), ~255+ levels of nesting in a free-form field (defect 2)
— after which ``/__mock__/state`` and the chat's history failed for good (with ``--db``, across restarts;
deep nesting even failed the write there). Now it is a 400 naming the JSON pointer, and every read stays
2xx: in memory and on SQLite (the ``fake`` fixture runs both), also after reopening the state file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mock_amojo import ManualClock, create_app
from mock_amojo.testing._client import AmojoClient
from mock_amojo.testing._inprocess import SyncASGITransport
from mock_amojo.testing._sandbox import SandboxHost, SandboxSettings
from mock_amojo.wire._limits import LIMITS, MAX_DEPTH, MAX_INTEGER, MAX_MSEC_TIMESTAMP, MAX_TIMESTAMP, MAX_TYPING_MS, too_deep
from mock_amojo.wire._validation import load_schemas

from .conftest import START, Fake, text_payload
from .schema_bodies import SCHEMAS, load_schema

UI = "/__mock__/ui"
DEEP = "<deep>"
#: The nesting of the original report (~255+ levels): past orjson's 254, so this is sent as raw bytes.
REPORTED_DEPTH = 300


# -- reads: everything the invariant reads must answer 2xx with JSON -------------------------


def assert_reads_ok(http: httpx.Client, amojo: AmojoClient, scope_id: str) -> dict[str, Any]:
    """State (all, and one scope), journal, every chat's history (every page) and console fragment: 2xx."""
    state = http.get("/__mock__/state")
    assert state.status_code == 200, state.text
    assert http.get("/__mock__/state", params={"scope_id": scope_id}).status_code == 200
    assert http.get("/__mock__/journal").status_code == 200
    data: dict[str, Any] = state.json()
    for chat in data["chats"]:
        offset = 0
        while True:
            page = amojo.history(chat["id"], offset=offset, scope_id=chat["scope_id"])
            assert page.status_code in (200, 204), page.text
            if page.status_code == 204:
                break
            offset += len(page.json()["messages"])
        assert http.get(f"{UI}/fragments/chats/{chat['id']}").status_code == 200
    return data


def assert_reads_ok_after_reopening(fake: Fake) -> None:
    """With SQLite: a server restarted on the same file serves every read too (a no-op in memory)."""
    if fake.app.state.store is None:
        return
    fake.app.state.store.close()
    again = create_app(fake.config, clock=ManualClock(START))
    try:
        with httpx.Client(transport=SyncASGITransport(again), base_url="https://amojo.amocrm.com") as http:
            amojo = AmojoClient(http, fake.config.channel_id, fake.config.channel_secret, now=fake.clock.now)
            assert_reads_ok(http, amojo, fake.scope_id)
    finally:
        again.state.store.close()


def assert_refused(response: httpx.Response, pointer: str, rule: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["error_type"] == "SCHEMA_VIOLATION"
    assert (body["detail"]["pointer"], body["detail"]["rule"]) == (pointer, rule)
    return body


def signed_raw(fake: Fake, path: str, body: dict[str, Any], deep: bytes) -> httpx.Response:
    """Send ``body`` with its ``"<deep>"`` string replaced by ``deep`` (JSON too deep for orjson to write)."""
    raw = orjson.dumps(body).replace(orjson.dumps(DEEP), deep)
    return fake.amojo.request("POST", path, raw=raw)


def nested_raw(levels: int) -> bytes:
    """``levels`` objects and arrays, alternating, inside each other: ``{"a":[{"a":[…]}]}``."""
    opening = b"".join(b'{"a":' if n % 2 == 0 else b"[" for n in range(levels))
    closing = b"".join(b"}" if n % 2 == 0 else b"]" for n in reversed(range(levels)))
    return opening + b"1" + closing


def nested(levels: int) -> Any:
    return orjson.loads(nested_raw(levels))


@pytest.fixture
def chat(fake: Fake) -> Fake:
    """A connected fake with one chat holding one message (``m-0``): there is a history to break."""
    assert fake.amojo.connect(fake.config.account_id, hook_api_version="v2").status_code == 200
    assert fake.amojo.send_message(text_payload("m-0")).status_code == 200
    return fake


# -- defect 1: integers --------------------------------------------------------------------------


@pytest.mark.parametrize("timestamp", [100_000_000_000_000_000, 2**63 - 1, 2**63, 2**64 - 1, MAX_TIMESTAMP + 1, -1])
def test_a_timestamp_out_of_range_is_refused_and_every_read_stays_2xx(chat: Fake, timestamp: int) -> None:
    payload = text_payload("m-1", timestamp=timestamp)
    del payload["msec_timestamp"]  # the report: no msec_timestamp, so the fake made one (timestamp * 1000)
    assert_refused(chat.amojo.send_message(payload), "/payload/timestamp", "maximum" if timestamp > 0 else "minimum")
    data = assert_reads_ok(chat.http, chat.amojo, chat.scope_id)
    assert [m["msgid"] for m in data["messages"]] == ["m-0"]
    assert_reads_ok_after_reopening(chat)


def test_milliseconds_sent_as_seconds_get_a_hint(chat: Fake) -> None:
    body = assert_refused(chat.amojo.send_message(text_payload("m-1", timestamp=int(START * 1000))), "/payload/timestamp", "maximum")
    assert "looks like milliseconds: send seconds in timestamp and milliseconds in msec_timestamp" in body["error_description"]
    micro = text_payload("m-2", msec_timestamp=int(START * 1_000_000))
    body = assert_refused(chat.amojo.send_message(micro), "/payload/msec_timestamp", "maximum")
    assert "looks like microseconds" in body["error_description"]


def test_the_last_storable_instant_is_accepted_and_read_back(chat: Fake) -> None:
    payload = text_payload("m-1", timestamp=MAX_TIMESTAMP)
    del payload["msec_timestamp"]
    assert chat.amojo.send_message(payload).status_code == 200
    assert chat.amojo.send_message(text_payload("m-2", timestamp=0, msec_timestamp=MAX_MSEC_TIMESTAMP)).status_code == 200
    stored = {m["msgid"]: m for m in assert_reads_ok(chat.http, chat.amojo, chat.scope_id)["messages"]}
    assert (stored["m-1"]["timestamp"], stored["m-1"]["msec_timestamp"]) == (MAX_TIMESTAMP, MAX_TIMESTAMP * 1000)
    assert stored["m-2"]["msec_timestamp"] == MAX_MSEC_TIMESTAMP
    assert_reads_ok_after_reopening(chat)


def _picture(**fields: Any) -> dict[str, Any]:
    return {"type": "picture", "media": "https://example.com/p.png", "file_name": "p.png", "file_size": 1, **fields}


def _inline_quote(**fields: Any) -> dict[str, Any]:
    return {"type": "text", "text": "q", "timestamp": int(START), "msec_timestamp": int(START * 1000), "sender": {"name": "Q"}, **fields}


#: (name, how to send it, the pointer refused): every integer a body carries into the state.
INTEGER_CASES: list[tuple[str, Callable[[Fake], httpx.Response], str]] = [
    ("msec_timestamp", lambda f: f.amojo.send_message(text_payload("m-1", msec_timestamp=2**63)), "/payload/msec_timestamp"),
    ("file_size", lambda f: f.amojo.send_message(text_payload("m-1", message=_picture(file_size=2**63))), "/payload/message/file_size"),
    (
        "media_duration",
        lambda f: f.amojo.send_message(text_payload("m-1", message=_picture(type="video", media_duration=2**64 - 1))),
        "/payload/message/media_duration",
    ),
    (
        "reply_to timestamp",
        lambda f: f.amojo.send_message(text_payload("m-1", reply_to={"message": _inline_quote(timestamp=2**63)})),
        "/payload/reply_to/message/timestamp",
    ),
    (
        "forwarded file_size",
        lambda f: f.amojo.send_message(text_payload("m-1", forwards={"messages": [_inline_quote(file_size=MAX_INTEGER + 1)]})),
        "/payload/forwards/messages/0/file_size",
    ),
    (
        "edited file_size",
        lambda f: f.amojo.send_message({"msgid": "m-0", "message": _picture(file_size=2**64 - 1)}, event_type="edit_message"),
        "/payload/message/file_size",
    ),
    (
        "edit timestamp",
        lambda f: f.amojo.send_message({"msgid": "m-0", "timestamp": 2**63, "message": {"type": "text"}}, event_type="edit_message"),
        "/payload/timestamp",
    ),
    ("typing duration_ms", lambda f: f.amojo.typing("conv-1", "user-1", duration_ms=MAX_TYPING_MS + 1), "/duration_ms"),
    (
        "operator template id",
        lambda f: f.http.post(
            "/__mock__/operator/reply",
            json={
                "scope_id": f.scope_id,
                "conversation_id": "conv-1",
                "message": {"type": "text", "text": "t", "template": {"id": 2**63, "content": "t"}},
            },
        ),
        "/message/template/id",
    ),
    (
        "operator file_size",
        lambda f: f.http.post(
            "/__mock__/operator/reply",
            json={"scope_id": f.scope_id, "conversation_id": "conv-1", "message": _picture(file_size=MAX_INTEGER + 1)},
        ),
        "/message/file_size",
    ),
]


@pytest.mark.parametrize(("send", "pointer"), [case[1:] for case in INTEGER_CASES], ids=[case[0] for case in INTEGER_CASES])
def test_every_stored_integer_is_bounded(chat: Fake, send: Callable[[Fake], httpx.Response], pointer: str) -> None:
    assert_refused(send(chat), pointer, "maximum")
    data = assert_reads_ok(chat.http, chat.amojo, chat.scope_id)
    assert [(m["msgid"], m["edits"]) for m in data["messages"]] == [("m-0", [])]
    assert_reads_ok_after_reopening(chat)


@pytest.mark.parametrize(("path", "query"), [("/__mock__/journal", "since=²"), ("/__mock__/webhooks", "limit=" + "9" * 5000)])
def test_control_plane_query_integers_are_bounded(fake: Fake, path: str, query: str) -> None:
    response = fake.http.get(f"{path}?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["error_type"] == "CONTROL_INVALID"


def test_history_offset_is_bounded(chat: Fake) -> None:
    chat_id = assert_reads_ok(chat.http, chat.amojo, chat.scope_id)["chats"][0]["id"]
    assert chat.amojo.history(chat_id, offset=MAX_INTEGER).status_code == 204
    response = chat.amojo.history(chat_id, offset=MAX_INTEGER + 1)
    assert (response.status_code, response.json()["error_type"]) == (400, "INVALID_QUERY")


@pytest.mark.parametrize("start", [int(START * 1000), -1, float("nan"), 10**400], ids=["milliseconds", "negative", "nan", "huge"])
def test_the_clock_refuses_a_time_it_could_not_stamp_messages_with(start: float) -> None:
    # Operator messages take their timestamp and msec_timestamp from the clock.
    with pytest.raises(ValueError, match=r"must be a finite number, 0\.\.253402300799"):
        ManualClock(start)


def test_the_clock_stays_in_range_when_moved_and_in_a_sandbox() -> None:
    clock = ManualClock(MAX_TIMESTAMP)
    with pytest.raises(ValueError, match=r"must be a finite number, 0\.\.253402300799"):
        clock.advance(1)
    assert clock.now() == MAX_TIMESTAMP
    host = SandboxHost()
    try:
        with pytest.raises(ValueError, match="milliseconds"):
            host.open(SandboxSettings(clock=START * 1000))
    finally:
        host.close()


@pytest.mark.parametrize("faults", [{"stale_time": 10**30}, {"stale_time": -1}, {"delay": 1e300}], ids=["huge", "negative", "delay"])
def test_webhook_faults_given_in_python_are_bounded_like_the_control_planes(faults: dict[str, Any]) -> None:
    # Sandbox settings skip the control plane's schema check; an unbounded stale_time broke GET /__mock__/faults.
    with pytest.raises(ValueError, match="/faults/"):
        SandboxSettings(faults=faults)


# -- defect 2: nesting ----------------------------------------------------------------------------


def _new(message: dict[str, Any] | None = None, **payload: Any) -> Callable[[Fake, bytes], httpx.Response]:
    fields: dict[str, Any] = {"message": message, **payload} if message else payload
    body = {"event_type": "new_message", "payload": text_payload("m-1", **fields)}
    return lambda f, deep: signed_raw(f, f.scope_id, body, deep)


def _edit(message: dict[str, Any]) -> Callable[[Fake, bytes], httpx.Response]:
    body = {"event_type": "edit_message", "payload": {"msgid": "m-0", "message": message}}
    return lambda f, deep: signed_raw(f, f.scope_id, body, deep)


def _control(path: str, body: dict[str, Any], *, in_scope: bool = True) -> Callable[[Fake, bytes], httpx.Response]:
    def send(fake: Fake, deep: bytes) -> httpx.Response:
        raw = orjson.dumps({"scope_id": fake.scope_id, **body} if in_scope else body).replace(orjson.dumps(DEEP), deep)
        return fake.http.post(path, content=raw, headers={"content-type": "application/json"})

    return send


#: (name, how to send a body with DEEP somewhere in it, the pointer where the nesting starts)
DEPTH_CASES: list[tuple[str, Callable[[Fake, bytes], httpx.Response], str]] = [
    ("message extra", _new({"type": "text", "text": "x", "extra": DEEP}), "/payload/message/extra"),
    ("location", _new({"type": "location", "location": {"lon": 1.5, "lat": 2.5, "extra": DEEP}}), "/payload/message/location/extra"),
    ("contact", _new({"type": "contact", "contact": {"name": "A", "phone": "1", "extra": DEEP}}), "/payload/message/contact/extra"),
    ("markup", _new({"type": "text", "text": "x", "markup": DEEP}), "/payload/message/markup"),
    ("reply_to.message", _new(reply_to={"message": _inline_quote(extra=DEEP)}), "/payload/reply_to/message/extra"),
    ("forwards", _new(forwards={"messages": [_inline_quote()], "extra": DEEP}), "/payload/forwards/extra"),
    ("edit_message", _edit({"type": "text", "text": "edited", "extra": DEEP}), "/payload/message/extra"),
    (
        "create_chat user",
        lambda f, deep: signed_raw(f, f"{f.scope_id}/chats", {"conversation_id": "c-9", "user": {"id": "u", "name": "U", "x": DEEP}}, deep),
        "/user/x",
    ),
    ("operator reply", _control("/__mock__/operator/reply", {"conversation_id": "conv-1", "message": DEEP}), "/message"),
    ("control channel", _control("/__mock__/channels", {"name": DEEP}, in_scope=False), "/name"),
]


@pytest.mark.parametrize(("send", "pointer"), [case[1:] for case in DEPTH_CASES], ids=[case[0] for case in DEPTH_CASES])
def test_deep_nesting_in_a_free_form_field_is_refused_and_every_read_stays_2xx(
    chat: Fake, send: Callable[[Fake, bytes], httpx.Response], pointer: str
) -> None:
    response = send(chat, nested_raw(REPORTED_DEPTH))
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert detail["rule"] == "maxDepth"
    assert detail["pointer"].startswith(pointer + "/"), detail["pointer"]
    assert detail["pointer"].count("/") == MAX_DEPTH  # the first container past the limit
    data = assert_reads_ok(chat.http, chat.amojo, chat.scope_id)
    assert [(m["msgid"], m["edits"]) for m in data["messages"]] == [("m-0", [])]
    assert_reads_ok_after_reopening(chat)


def test_nesting_up_to_the_limit_is_stored_and_read_back(chat: Fake) -> None:
    # body (level 1) → payload → message → extra: the value of "extra" starts at level 4.
    payload = text_payload("m-1", message={"type": "text", "text": "x", "extra": nested(MAX_DEPTH - 3)})
    deepest = {"event_type": "new_message", "payload": payload}
    assert too_deep(deepest) is None and too_deep(deepest, max_depth=MAX_DEPTH - 1) is not None
    assert chat.amojo.send_message(payload).status_code == 200
    edit = {"msgid": "m-1", "message": {"type": "text", "extra": nested(MAX_DEPTH - 3)}}
    assert chat.amojo.send_message(edit, event_type="edit_message").status_code == 200
    too_far = text_payload("m-2", message={"type": "text", "text": "x", "extra": nested(MAX_DEPTH - 2)})
    assert chat.amojo.send_message(too_far).json()["detail"]["rule"] == "maxDepth"
    stored = {m["msgid"]: m for m in assert_reads_ok(chat.http, chat.amojo, chat.scope_id)["messages"]}
    assert stored["m-1"]["message"]["extra"] == nested(MAX_DEPTH - 3)
    assert_reads_ok_after_reopening(chat)


# -- the limits are stated once, in the schemas clients read --------------------------------------


def _unbounded_integers(node: Any, path: str = "") -> list[str]:
    """Integer properties without an enum/const or both minimum and maximum (refinements in combinators skipped)."""
    found: list[str] = []
    if isinstance(node, dict):
        kinds = node.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if "integer" in kinds and not ({"enum", "const"} & node.keys()) and not {"minimum", "maximum"} <= node.keys():
            found.append(path or "/")
        for key, value in node.items():
            if key not in ("anyOf", "oneOf", "allOf", "if", "then", "else", "not"):
                found += _unbounded_integers(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _unbounded_integers(value, f"{path}/{index}")
    return found


@pytest.mark.parametrize("name", sorted(p.name for p in SCHEMAS.glob("*.request.json")))
def test_every_integer_a_request_carries_is_bounded_in_its_schema(name: str) -> None:
    assert _unbounded_integers(load_schema(name)) == []


def test_the_schemas_and_the_openapi_document_state_the_limits(fake: Fake) -> None:
    shared = json.loads((SCHEMAS / "definitions.json").read_text(encoding="utf-8"))["$defs"]
    assert shared["unix_seconds"]["maximum"] == LIMITS["MAX_TIMESTAMP"]
    assert shared["unix_milliseconds"]["maximum"] == LIMITS["MAX_MSEC_TIMESTAMP"]
    assert shared["count"]["maximum"] == LIMITS["MAX_INTEGER"]
    assert load_schema("typing.request.json")["properties"]["duration_ms"]["maximum"] == LIMITS["MAX_TYPING_MS"]
    components = fake.http.get("/__mock__/openapi.json").json()["components"]["schemas"]
    assert components["unix_seconds"]["maximum"] == MAX_TIMESTAMP


def test_the_depth_check_gives_the_validators_verdict_without_raw_bytes() -> None:
    schemas = load_schemas()
    body = {"conversation_id": "c", "sender": {"id": "u"}, "x": nested(MAX_DEPTH)}
    assert not schemas.is_valid("typing.request.json", body)
    body["x"] = nested(MAX_DEPTH - 1)
    assert schemas.is_valid("typing.request.json", body)
    assert too_deep(body, orjson.dumps(body)) is None


def test_limits_table_is_what_the_docs_quote() -> None:
    page = (Path(__file__).parent.parent / "docs" / "limits-and-redaction.md").read_text(encoding="utf-8")
    section = page[page.index("| limit | value |") : page.index("**What is redacted.**")]
    for value in LIMITS.values():
        assert str(value) in section, value
