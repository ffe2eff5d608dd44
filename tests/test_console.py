"""The console's pages over HTTP: what they show, escaping, unread counts, and the event stream."""

from __future__ import annotations

import os
import re
import threading
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_amojo import Config, ManualClock, create_app
from mock_amojo.domain._journal import explain_entry
from mock_amojo.http._console import STREAM_SECONDS, _content_view, _pretty, file_size, safe_url, unread_count
from mock_amojo.serve._server import ServerThread
from mock_amojo.testing._client import AmojoClient
from mock_amojo.testing._inprocess import SyncASGITransport
from mock_amojo.wire import Content, parse_content

from .conftest import START, Fake, text_payload

UI = "/__mock__/ui"
EXAMPLES = int(os.environ.get("MOCK_AMOJO_TEST_EXAMPLES", "0")) or 100


def chat_id_of(fake: Fake, conversation_id: str) -> str:
    chat_id: str = next(c["id"] for c in fake.state()["chats"] if c["conversation_id"] == conversation_id)
    return chat_id


def send(fake: Fake, payload: dict[str, Any]) -> str:
    response = fake.amojo.send_message(payload)
    assert response.status_code == 200, response.text
    amojo_id: str = response.json()["new_message"]["msgid"]
    return amojo_id


def console_pages(fake: Fake) -> str:
    """The console page and every fragment, for every chat, each asserted 200: all the console shows, joined."""
    chats = [c.id for c in fake.backend.all_chats()]
    paths = ["", "?tab=leads", "/fragments/sidebar", "/fragments/journal", "/fragments/webhooks", "/fragments/leads"]
    paths += [p for chat in chats for p in (f"?chat={chat}", f"/fragments/chats/{chat}")]
    pages = []
    for path in paths:
        response = fake.http.get(UI + path)
        assert response.status_code == 200, (path, response.text[-500:])
        pages.append(response.text)
    return "\n".join(pages)


@pytest.mark.parametrize(
    ("accept", "lands_on_console"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),  # a browser
        ("application/json", False),
        ("*/*", False),  # curl, httpx
        ("", False),
        ("application/json, text/html;q=0.5", False),
    ],
)
def test_index_sends_browsers_to_the_console(fake: Fake, accept: str, lands_on_console: bool) -> None:
    response = fake.http.get("/", headers={"Accept": accept})
    if lands_on_console:
        assert (response.status_code, response.headers["location"]) == (303, UI)
    else:
        assert response.status_code == 200
        assert response.json()["console"] == UI


def test_page_and_fragments_render(connected: Fake) -> None:
    send(connected, text_payload("m-1"))
    chat = chat_id_of(connected, "conv-1")
    for path in ["", f"?chat={chat}", "?tab=leads", "/fragments/sidebar", "/fragments/journal", "/fragments/webhooks", "/fragments/leads"]:
        response = connected.http.get(UI + path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "text/html; charset=utf-8"
    timeline = connected.http.get(f"{UI}/fragments/chats/{chat}").text
    assert "hello" in timeline
    assert "no longer exists" in connected.http.get(f"{UI}/fragments/chats/no-such-chat").text


def test_user_text_is_escaped_everywhere(connected: Fake) -> None:
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    payload = text_payload("m-1", text=evil)
    payload["sender"]["name"] = evil
    send(connected, payload)
    connected.amojo.request("POST", connected.scope_id, raw=evil.encode())  # refused: lands in the journal as sent
    page = connected.http.get(f"{UI}?chat={chat_id_of(connected, 'conv-1')}").text
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3  # sidebar name, timeline, journal body


def test_media_urls_other_than_http_are_dropped(connected: Fake) -> None:
    payload = text_payload("m-1")
    payload["message"] = {"type": "picture", "media": "javascript:alert(1)", "file_name": "a.jpg", "file_size": 1}
    send(connected, payload)
    timeline = connected.http.get(f"{UI}/fragments/chats/{chat_id_of(connected, 'conv-1')}").text
    assert "javascript:" not in timeline
    assert "a.jpg" in timeline


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        (
            {"type": "picture", "media": "https://cdn.example/p.jpg", "file_name": "p.jpg", "file_size": 2048},
            ['class="thumb" src="https://cdn.example/p.jpg"', "2.0 KB"],
        ),
        (
            {"type": "file", "media": "https://cdn.example/f.pdf", "file_name": "f.pdf", "file_size": 1536},
            ['href="https://cdn.example/f.pdf"', "f.pdf", "1.5 KB"],
        ),
        (
            {"type": "video", "media": "https://cdn.example/v.mp4", "file_name": "v.mp4", "file_size": 10, "media_duration": 65},
            ["icon-video", "v.mp4", "1:05"],
        ),
        ({"type": "voice", "media": "https://cdn.example/v.ogg", "media_duration": 7}, ["icon-voice", "0:07"]),
        ({"type": "sticker", "media": "https://cdn.example/s.webp", "sticker_id": "st-1"}, ['class="sticker"', "st-1"]),
        ({"type": "location", "location": {"lat": 55.75, "lon": 37.62}}, ["icon-location", "55.75, 37.62"]),
        ({"type": "contact", "contact": {"name": "Kate", "phone": "+79990001122"}}, ["icon-contact", "</svg> Kate · +79990001122"]),
    ],
)
def test_every_message_type_renders(connected: Fake, message: dict[str, Any], shown: list[str]) -> None:
    payload = text_payload("m-1")
    payload["message"] = message
    send(connected, payload)
    timeline = connected.http.get(f"{UI}/fragments/chats/{chat_id_of(connected, 'conv-1')}").text
    for text in shown:
        assert text in timeline


def test_edits_reactions_replies_and_statuses(connected: Fake) -> None:
    first = send(connected, text_payload("m-1", text="original"))
    send(connected, text_payload("m-2", text="second", reply_to={"message": {"msgid": "m-1"}}))
    connected.amojo.send_message({"id": first, "message": {"type": "text", "text": "changed"}}, event_type="edit_message")
    connected.amojo.react({"conversation_id": "conv-1", "id": first, "user": {"id": "user-1"}, "type": "react", "emoji": "🔥"})
    bot = connected.backend.channel(connected.config.channel_id).bot.id
    out = send(
        connected,
        {**text_payload("m-3", text="from the bot"), "sender": {"ref_id": bot}, "receiver": {"id": "user-1", "name": "Client"}},
    )
    connected.amojo.delivery_status(out, -1, error_code=904, error="not on WhatsApp")
    timeline = connected.http.get(f"{UI}/fragments/chats/{chat_id_of(connected, 'conv-1')}").text
    assert "edited 1×" in timeline
    assert "original" in timeline  # the text before the edit
    assert '<span class="reaction" title="Client">' in timeline
    assert '<span class="emoji">🔥</span><span class="emoji-name">fire</span>' in timeline  # a name where no font draws it
    assert "icon-reply" in timeline and "</svg> reply to" in timeline
    assert re.search(r'data-status="error"[^>]*>\s*<svg class="icon icon-warn"[^>]*>.*?</svg> error 904: not on WhatsApp', timeline)


def test_unread_counts_and_order(connected: Fake) -> None:
    send(connected, text_payload("a-1", conversation_id="conv-a", user_id="ua", text="from a"))
    connected.clock.advance(5)
    send(connected, text_payload("b-1", conversation_id="conv-b", user_id="ub", text="from b 1"))
    send(connected, text_payload("b-2", conversation_id="conv-b", user_id="ub", text="from b 2"))
    sidebar = connected.http.get(f"{UI}/fragments/sidebar").text
    items = re.findall(r'data-chat-id="([^"]+)">.*?(?:badge unread" title="unread messages">(\d+)<|</li>)', sidebar, re.S)
    chat_a, chat_b = chat_id_of(connected, "conv-a"), chat_id_of(connected, "conv-b")
    assert items == [(chat_b, "2"), (chat_a, "1")]  # newest activity first
    connected.http.get(f"{UI}?chat={chat_b}")  # the manager opens chat b
    sidebar = connected.http.get(f"{UI}/fragments/sidebar").text
    assert re.findall(r'title="unread messages">(\d+)<', sidebar) == ["1"]
    connected.http.post(
        "/__mock__/operator/reply", json={"scope_id": connected.scope_id, "chat_id": chat_a, "message": {"type": "text", "text": "hi"}}
    )
    assert "unread messages" not in connected.http.get(f"{UI}/fragments/sidebar").text  # answering reads the chat


def test_typing_indicator_until_it_expires(connected: Fake) -> None:
    send(connected, text_payload("m-1"))
    connected.amojo.typing("conv-1", "user-1")
    chat = chat_id_of(connected, "conv-1")
    assert "Client is typing…" in connected.http.get(f"{UI}/fragments/chats/{chat}").text
    connected.clock.advance(6)
    assert "is typing" not in connected.http.get(f"{UI}/fragments/chats/{chat}").text


def test_journal_explains_refusals(connected: Fake) -> None:
    connected.amojo.request("POST", connected.scope_id, raw=b"{}", headers={"X-Signature": "f" * 40})
    connected.amojo.send_message(
        {"timestamp": 1, "msgid": 5, "conversation_id": "c", "sender": {"id": "u", "name": "U"}, "message": {"type": "text", "text": "x"}}
    )
    journal = connected.http.get(f"{UI}/fragments/journal").text
    assert "SIGNATURE_MISMATCH" in journal
    assert f"<code>/v2/origin/custom/{connected.scope_id}</code>" in journal  # the path line of the canonical string
    assert "f" * 40 in journal
    assert '<code class="pointer">/payload/msgid</code>' in journal
    assert journal.count('<table class="canonical">') == 1  # only the signature refusal compares canonical strings
    assert "the body was refused" in journal
    assert connected.config.channel_secret not in journal


def test_static_assets(fake: Fake) -> None:
    assert fake.http.get(f"{UI}/static/console.js").headers["content-type"].startswith("text/javascript")
    assert fake.http.get(f"{UI}/static/console.css").headers["content-type"].startswith("text/css")
    assert fake.http.get(f"{UI}/static/../app.py").status_code == 404
    assert fake.http.get(f"{UI}/static/nope.js").status_code == 404


def test_event_stream_announces_changes() -> None:
    config = Config()
    with ServerThread(create_app(config)) as server, httpx.Client(base_url=server.url, timeout=5) as http:
        amojo = AmojoClient(http, config.channel_id, config.channel_secret)
        with httpx.Client(timeout=STREAM_SECONDS + 5) as listener, listener.stream("GET", f"{server.url}{UI}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            events: list[str] = []
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    events.append(line.removeprefix("event: "))
                    if events == ["hello"]:
                        assert amojo.connect(config.account_id).status_code == 200  # a state change and a journal entry
                if {"state", "journal"} <= set(events):
                    break
        assert events[0] == "hello"


def test_helpers() -> None:
    assert file_size(None) == ""
    assert file_size(3 * 1024**4) == "3072.0 GB"
    assert safe_url(" HTTPS://x.example/a") == " HTTPS://x.example/a"
    assert safe_url("data:text/html,<b>") == ""


def test_long_chats_show_their_newest_messages(connected: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mock_amojo.http._console.TIMELINE_LIMIT", 3)
    for n in range(5):
        send(connected, text_payload(f"m-{n}", text=f"number {n}"))
    timeline = connected.http.get(f"{UI}/fragments/chats/{chat_id_of(connected, 'conv-1')}").text
    assert "2 older messages not shown" in timeline
    assert "number 1" not in timeline
    assert "number 2" in timeline
    assert "number 4" in timeline


@given(st.lists(st.sampled_from(["incoming", "outgoing"]), max_size=12), st.integers(min_value=0, max_value=14))
def test_unread_is_client_messages_after_the_last_answer_and_the_last_look(directions: list[str], seen: int) -> None:
    chat = SimpleNamespace(messages=[SimpleNamespace(direction=d) for d in directions])
    answered = max((i + 1 for i, d in enumerate(directions) if d == "outgoing"), default=0)
    expected = sum(1 for d in directions[max(seen, answered) :] if d == "incoming")
    assert unread_count(chat, seen) == expected  # type: ignore[arg-type]


def test_stopping_the_server_ends_open_event_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    """An open console tab must not hold a shutdown (uvicorn waits for open responses)."""
    monkeypatch.setattr("mock_amojo.http._console.STREAM_SECONDS", 600.0)
    server = ServerThread(create_app(Config())).start()
    events: list[str] = []
    with httpx.Client(timeout=10) as listener, listener.stream("GET", f"{server.url}{UI}/events") as stream:
        stopper = threading.Thread(target=server.stop)
        for line in stream.iter_lines():  # ends when the server ends the stream
            events.append(line)
            if line == "event: hello":
                stopper.start()
            if events.count(": keep-alive") > 10:
                pytest.fail("the event stream outlived the server's stop")
    stopper.join(10)
    assert not stopper.is_alive()
    assert "event: hello" in events


# -- stored content of any shape renders (issue #14 items 3 and 4) -------------------------

#: The smallest new_message content of each type.
SHAPES: dict[str, dict[str, Any]] = {
    "text": {"type": "text", "text": "plain"},
    "picture": {"type": "picture", "media": "https://cdn.example/p.jpg", "file_name": "p.jpg", "file_size": 1},
    "file": {"type": "file", "media": "https://cdn.example/f.pdf", "file_name": "f.pdf", "file_size": 1},
    "video": {"type": "video", "media": "https://cdn.example/v.mp4", "file_name": "v.mp4", "file_size": 1},
    "voice": {"type": "voice", "media": "https://cdn.example/v.ogg"},
    "audio": {"type": "audio", "media": "https://cdn.example/a.mp3"},
    "sticker": {"type": "sticker", "media": "https://cdn.example/s.webp"},
    "location": {"type": "location", "location": {"lat": 55.75, "lon": 37.62}},
    "contact": {"type": "contact", "contact": {"name": "Kate", "phone": "+79990001122"}},
}


@pytest.mark.parametrize("kind", ["picture", "location", "contact", "sticker"])
def test_a_message_given_a_caption_by_an_edit_renders(connected: Fake, kind: str) -> None:
    """The report: a picture sent without a caption, then edit_message adding one, made the timeline a 500."""
    payload = text_payload("m-1")
    payload["message"] = SHAPES[kind]
    amojo_id = send(connected, payload)
    edit = {"id": amojo_id, "message": {"type": kind, "text": "a caption"}}
    assert connected.amojo.send_message(edit, event_type="edit_message").status_code == 200
    shown = console_pages(connected)
    assert '<p class="text">a caption</p>' in shown
    assert "edited 1×" in shown


def test_every_message_type_edited_to_every_other_shape_renders(connected: Fake) -> None:
    for kind, shape in SHAPES.items():
        payload = text_payload(f"m-{kind}", reply_to={"message": {"msgid": "m-text"}} if kind != "text" else None)
        payload["message"] = shape
        amojo_id = send(connected, payload)
        for other_kind, other in SHAPES.items():
            for edit in (other, {"type": other_kind}):  # the whole shape, and the type alone (edits need no more)
                answer = connected.amojo.send_message({"id": amojo_id, "message": edit}, event_type="edit_message")
                assert answer.status_code == 200, answer.text
    shown = console_pages(connected)
    assert shown.count("edited 18×") == 2 * len(SHAPES)  # each chat: its page and its fragment


UNDOCUMENTED_MARKUP = ["s", 1, [1], True, {"mode": "inline", "buttons": "x"}, {"buttons": [[{"text": "A"}]]}]


@pytest.mark.parametrize("markup", UNDOCUMENTED_MARKUP, ids=repr)
def test_incoming_markup_of_an_undocumented_shape_is_refused(connected: Fake, markup: Any) -> None:
    """The report: such a markup was accepted, then the chat's console fragment was a 500."""
    amojo_id = send(connected, text_payload("m-1"))
    sent = connected.amojo.send_message({**text_payload("m-2"), "message": {"type": "text", "text": "pick", "markup": markup}})
    edited = connected.amojo.send_message({"id": amojo_id, "message": {"type": "text", "markup": markup}}, event_type="edit_message")
    for answer in (sent, edited):
        assert answer.status_code == 400, answer.text
        assert answer.json()["error_type"] == "SCHEMA_VIOLATION"
        assert answer.json()["detail"]["pointer"].startswith("/payload/message/markup")
    console_pages(connected)


def test_incoming_markup_of_the_documented_shape_is_kept_and_shown(connected: Fake) -> None:
    buttons = {"mode": "inline", "buttons": [[{"text": "Yes"}, {"text": "Site", "url": "https://example.com"}]]}
    listing = {
        "mode": "inline",
        "list_message": {"body": "b", "button": "Open list", "sections": [{"rows": [{"callback_data": "1", "title": "t"}]}]},
    }
    for n, markup in enumerate([buttons, listing, None]):
        send(connected, {**text_payload(f"m-{n}"), "message": {"type": "text", "text": "pick", "markup": markup}})
    shown = console_pages(connected)
    assert '<span class="button" title="https://example.com">Site</span>' in shown
    assert "</svg> list: Open list" in shown


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _shaped(*keys: str, value: st.SearchStrategy[Any] = json_values) -> st.SearchStrategy[Any]:
    """Objects with any of ``keys`` holding anything, or anything at all."""
    return st.fixed_dictionaries({}, optional=dict.fromkeys(keys, value)) | json_values


_button = _shaped("text", "url")
_markup = _shaped("mode", "buttons", "list_message", value=st.lists(st.lists(_button, max_size=2) | json_values, max_size=2) | json_values)
_content = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(sorted(SHAPES)) | json_values,
        "text": json_values,
        "media": st.sampled_from(["https://cdn.example/x", "javascript:alert(1)"]) | json_values,
        "thumbnail": json_values,
        "file_name": json_values,
        "file_size": st.integers() | json_values,
        "media_duration": st.integers() | json_values,
        "sticker_id": json_values,
        "location": _shaped("lat", "lon", value=st.floats() | json_values),
        "contact": _shaped("name", "phone"),
        "callback_data": json_values,
        "shared_post": _shaped("url"),
        "post": _shaped("id", "url"),
        "markup": _markup,
        "template": json_values,
    },
)
_stored = _content | json_values
_quote = _shaped("id", "msgid", "type", "text", "sender", value=json_values | _shaped("name"))


def test_the_console_renders_any_stored_content() -> None:
    """Whatever a message holds (every type, any field missing or of any type), every page renders: defence in depth."""
    config, clock = Config(), ManualClock(START)
    app = create_app(config, clock=clock)
    with httpx.Client(transport=SyncASGITransport(app), base_url="https://amojo.amocrm.com") as http:
        fake = Fake(app, config, clock, http, AmojoClient(http, config.channel_id, config.channel_secret, now=clock.now))
        assert fake.amojo.connect(config.account_id).status_code == 200
        send(fake, text_payload("m-1"))
        (message,) = fake.backend.all_chats()[0].messages

        @given(content=_stored, previous=_stored, quoted=_quote | json_values, forwarded=st.lists(_quote, max_size=2) | json_values)
        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None)
        def renders(content: Any, previous: Any, quoted: Any, forwarded: Any) -> None:
            # Written past the schema on purpose: the console must not depend on what the API let in.
            message.content_value = parse_content(content) if isinstance(content, dict) else Content({"type": "text", "shown": content})
            message.reply_to = {"message": quoted}
            message.forwards = {"messages": forwarded}
            message.edits = [{"at": 0.0, "previous": previous, "changes": {}}]
            shown = console_pages(fake)
            assert "javascript:alert" not in shown

        renders()


def test_values_too_deep_to_write_as_json_still_render() -> None:
    deep: Any = "bottom"
    for _ in range(300):
        deep = [deep]
    assert _content_view({"type": "text", "text": deep, "contact": {"name": deep}})["text"] == "<list>"
    assert _pretty(deep) == "<list nested too deeply to show>"


# -- the channel secret sent in a URL (issue #14 item 10) ----------------------------------


def test_a_secret_sent_in_the_path_or_query_is_redacted_from_the_journal_and_the_console(connected: Fake) -> None:
    """The report: …/chats/<secret>/history?x=<secret> showed the secret in the journal's path, query and canonical string."""
    secret, scope = connected.config.channel_secret, connected.scope_id
    escaped = "".join(f"%{ord(c):02X}" for c in secret.upper())  # another spelling of the same key
    answers = [
        connected.amojo.request("GET", f"{scope}/chats/{secret}/history", params={"x": secret}),
        # A wrong signature: the refusal shows the canonical string the fake signed, path included.
        connected.amojo.request("GET", f"{scope}/chats/{secret}/history", params={"x": secret}, headers={"X-Signature": "0" * 40}),
        connected.amojo.request("GET", f"{scope}/chats/{escaped}/history?x={escaped}", headers={"X-Signature": "0" * 40}),
        # The secret where an id belongs (channel id and secret mixed up): no channel to check it against.
        connected.amojo.request("POST", f"{secret}/connect", {"account_id": connected.config.account_id}),
        connected.amojo.request("POST", secret, text_payload("m-9")),
    ]
    for answer in answers:
        assert secret not in answer.text.lower()
    journal = connected.http.get("/__mock__/journal")
    assert journal.status_code == 200
    assert secret not in journal.text.lower()
    entries = journal.json()["entries"][-len(answers) :]
    assert [e["status"] for e in entries] == [a.status_code for a in answers]
    assert all("<redacted" in e["path"] for e in entries)
    assert "<redacted" in entries[0]["query"]
    assert "<redacted" in entries[1]["verdict"]["canonical"]
    assert "<redacted" in entries[2]["verdict"]["canonical"] and escaped not in entries[2]["query"]
    assert all(secret not in explain_entry(e).lower() for e in entries)
    assert secret not in console_pages(connected).lower()


def test_a_message_text_holding_the_secret_is_kept_as_the_client_sent_it(connected: Fake) -> None:
    """Message text is the client's data: state, history and the timeline keep it; the journal's copy of that request does not."""
    secret = connected.config.channel_secret
    send(connected, text_payload("m-1", text=f"my key is {secret}"))
    assert secret not in connected.http.get(f"{UI}/fragments/journal").text
    chat = chat_id_of(connected, "conv-1")
    assert f"my key is {secret}" in connected.http.get(f"{UI}/fragments/chats/{chat}").text
    assert f"my key is {secret}" in connected.amojo.history(chat).text
    assert f"my key is {secret}" in connected.http.get("/__mock__/state").text


def test_the_leads_tab_shows_each_contact_id_and_why_lead_ids_skip(connected: Fake) -> None:
    send(connected, text_payload("a-1", conversation_id="conv-a", user_id="ua", text="first chat"))
    connected.clock.advance(5)
    send(connected, text_payload("b-1", conversation_id="conv-b", user_id="ub", text="second chat"))
    leads = connected.http.get(f"{UI}/fragments/leads").text
    assert re.findall(r'data-lead-id="(\d+)"', leads) == ["4", "2"]  # newest first: each chat's contact took an id first
    assert re.findall(r"<td>#(\d+) [^<]", leads) == ["3", "1"]  # the contact column (the lead's has its badge)
    assert "Leads and contacts take their ids from one counter" in leads
