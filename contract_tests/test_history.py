"""§3.6 Chat history."""

from __future__ import annotations

import pytest

from .expect import expect_empty, expect_error, expect_json
from .targets import Target
from .wire import Wire, new_id

rule = pytest.mark.rule


def chat_with(amojo: Wire, count: int) -> tuple[str, list[str]]:
    """A chat holding ``count`` text messages "m0".."m{count-1}", sent in that order."""
    conversation, user = new_id("conv"), new_id("user")
    texts = [f"m{n}" for n in range(count)]
    for text in texts:
        expect_json(amojo.incoming(conversation, user, text=text, silent=True), 200)
    return amojo.chat_id(conversation, user), texts


@rule("§3.6", evidence="doc")
def test_history_of_unknown_chat_is_204(amojo: Wire) -> None:
    """A chat id amojo does not know: 204, no body."""
    expect_empty(amojo.history("00000000-0000-4000-8000-0000000000aa"), 204)


@rule("§3.6", evidence="doc")
def test_history_lists_newest_first(amojo: Wire) -> None:
    """200 {"messages": [...]}, newest first (the documented example's order)."""
    chat_id, texts = chat_with(amojo, 3)
    body = expect_json(amojo.history(chat_id), 200, "history.response.json")
    assert [m["message"]["text"] for m in body["messages"]] == texts[::-1]


@rule("§3.6", evidence="doc")
def test_history_pages_with_offset_and_limit(amojo: Wire) -> None:
    """offset skips the newest messages, limit caps the page; walking the pages yields every message once."""
    chat_id, texts = chat_with(amojo, 7)
    seen: list[str] = []
    offset = 0
    while True:
        response = amojo.history(chat_id, offset=offset, limit=3)
        if response.status_code == 204:
            break
        page = expect_json(response, 200, "history.response.json")["messages"]
        assert 0 < len(page) <= 3
        seen += [m["message"]["text"] for m in page]
        offset += len(page)
    assert seen == texts[::-1]


@rule("§3.6", evidence="assumption")
def test_history_limit_above_50_is_clamped(amojo: Wire) -> None:
    """limit max is 50 [doc]; a larger limit is clamped rather than refused [assumption]."""
    chat_id, _ = chat_with(amojo, 52)
    page = expect_json(amojo.history(chat_id, limit=100), 200)["messages"]
    assert len(page) == 50


@rule("§3.6", evidence="assumption")
def test_history_with_non_numeric_offset_is_400(amojo: Wire, target: Target) -> None:
    """offset and limit are ints: a non-numeric value is invalid data (400)."""
    chat_id, _ = chat_with(amojo, 1)
    expect_error(amojo.history(chat_id, offset="first"), 400, "INVALID_QUERY", fake=target.is_fake)


@rule("§9", evidence="client")
def test_history_items_never_carry_null(amojo: Wire) -> None:
    """Typed clients: timestamp int; media, thumbnail, file_name strings ("" when empty); file_size int (0)."""
    chat_id, _ = chat_with(amojo, 1)
    (item,) = expect_json(amojo.history(chat_id), 200, "history.response.json")["messages"]
    message = item["message"]
    assert isinstance(item["timestamp"], int)
    for name in ("id", "type", "text", "media", "thumbnail", "file_name"):
        assert isinstance(message[name], str), name
    assert message["file_size"] == 0


@rule("§3.6", evidence="doc")
def test_history_item_describes_sender_and_message(amojo: Wire) -> None:
    """Each item has timestamp, msec_timestamp, sender {id, name, client_id} and message {id, client_id, type, text}."""
    conversation, user, msgid = new_id("conv"), new_id("user"), new_id("msg")
    expect_json(amojo.incoming(conversation, user, msgid=msgid, text="hi", name="Olga"), 200)
    (item,) = expect_json(amojo.history(amojo.chat_id(conversation, user)), 200)["messages"]
    assert item["sender"]["client_id"] == user
    assert item["sender"]["name"] == "Olga"
    assert item["message"]["client_id"] == msgid
    assert (item["message"]["type"], item["message"]["text"]) == ("text", "hi")
    assert item["msec_timestamp"] // 1000 == item["timestamp"]


@rule("§3.6", evidence="doc")
@pytest.mark.fake_only("needs a second channel")
def test_history_shows_only_chats_of_this_integration(amojo: Wire, target: Target) -> None:
    """Another channel's chat is invisible: asking for it answers 204."""
    other = Wire(target.http, target.new_channel())
    expect_json(other.connect(hook_api_version="v2"), 200)
    conversation, user = new_id("conv"), new_id("user")
    expect_json(other.incoming(conversation, user), 200)
    foreign_chat = other.chat_id(conversation, user)
    expect_empty(amojo.history(foreign_chat), 204)
