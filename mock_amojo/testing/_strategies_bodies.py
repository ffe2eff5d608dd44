"""Valid amojo bodies as hypothesis strategies (:mod:`mock_amojo.testing.strategies`): the API requests an
integration sends and the webhooks amojo sends.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ._strategies_base import (
    _ABSENT,
    HOOK_MESSAGE_TYPES,
    MESSAGE_TYPES,
    Body,
    _object,
    _optional,
    emails,
    emoji,
    external_ids,
    ids,
    message_contents,
    names,
    phones,
    texts,
    timestamps,
    urls,
    users,
    uuids,
)

# -- amojo API requests ---------------------------------------------------------------------


def connect_requests(account_id: str | None = None) -> st.SearchStrategy[Body]:
    """Bodies of ``POST /{channel_id}/connect``."""
    return _object(
        account_id=st.just(account_id) if account_id else uuids,
        hook_api_version=_optional(st.sampled_from(["v1", "v2"])),
        title=_optional(names),
        is_time_window_disabled=_optional(st.booleans()),
    )


def create_chat_requests() -> st.SearchStrategy[Body]:
    """Bodies of ``POST /{scope_id}/chats``."""
    return _object(conversation_id=ids, user=users(), source=_optional(st.fixed_dictionaries({"external_id": external_ids}), null=False))


def _inline_embedded() -> st.SearchStrategy[Body]:
    """A quoted/forwarded message given in full (so no earlier message has to exist)."""
    return st.tuples(message_contents(("text", "location", "contact")), timestamps, st.integers(0, 999), names).map(
        lambda t: {**t[0], "timestamp": t[1], "msec_timestamp": t[1] * 1000 + t[2], "sender": {"name": t[3]}}
    )


def incoming_messages(*, conversation_id: str | None = None, types: tuple[str, ...] = MESSAGE_TYPES) -> st.SearchStrategy[Body]:
    """``new_message`` bodies from a client (sender only): every type, silent or not, with quotes and forwards."""
    return st.tuples(
        timestamps,
        st.integers(0, 999),
        _object(
            msgid=ids,
            conversation_id=st.just(conversation_id) if conversation_id else ids,
            sender=users(),
            message=message_contents(types),
            silent=_optional(st.booleans()),
            source=_optional(st.fixed_dictionaries({"external_id": external_ids}), null=False),
            reply_to=_optional(st.fixed_dictionaries({"message": _inline_embedded()}), null=False),
            forwards=_optional(st.fixed_dictionaries({"messages": st.lists(_inline_embedded(), min_size=1, max_size=1)}), null=False),
        ),
    ).map(_stamped)


def _stamped(parts: tuple[int, int, Body]) -> Body:
    timestamp, msec, payload = parts
    return {"event_type": "new_message", "payload": {"timestamp": timestamp, "msec_timestamp": timestamp * 1000 + msec, **payload}}


def outgoing_messages(sender_ref_id: str, *, conversation_id: str | None = None) -> st.SearchStrategy[Body]:
    """``new_message`` bodies importing a manager's or the bot's message (``sender.ref_id`` + ``receiver``)."""
    return st.tuples(
        timestamps,
        st.integers(0, 999),
        _object(
            msgid=ids,
            conversation_id=st.just(conversation_id) if conversation_id else ids,
            sender=st.fixed_dictionaries({"ref_id": st.just(sender_ref_id)}, optional={"name": names}),
            receiver=users(),
            message=message_contents(),
            silent=_optional(st.booleans()),
        ),
    ).map(_stamped)


def edit_messages(*, msgid: str | None = None, message_id: str | None = None) -> st.SearchStrategy[Body]:
    """``edit_message`` bodies naming a message by the integration's ``msgid`` and/or amojo's ``id``."""
    if msgid is None and message_id is None:
        msgid = "m-1"
    return _object(
        id=st.just(message_id) if message_id else st.just(_ABSENT),
        msgid=st.just(msgid) if msgid else st.just(_ABSENT),
        message=st.one_of(
            _object(type=st.just("text"), text=texts),
            _object(
                type=st.sampled_from(MESSAGE_TYPES),
                delivery_status=st.fixed_dictionaries({"status_code": st.sampled_from([1, 2])}),
            ),
        ),
    ).map(lambda payload: {"event_type": "edit_message", "payload": payload})


def delivery_status_requests(msgid: str | None = None) -> st.SearchStrategy[Body]:
    """Bodies of ``POST /{scope_id}/{msgid}/delivery_status``: delivered, read, or an error with its code."""
    ok = _object(msgid=st.just(msgid) if msgid else ids, delivery_status=st.sampled_from([1, 2]), error_code=_optional(st.none()))
    failed = st.builds(
        lambda code, text, mid: {
            "msgid": mid,
            "delivery_status": -1,
            "error_code": code,
            **({"error": text} if code == 905 or text else {}),
        },
        st.sampled_from([901, 902, 903, 904, 905]),
        texts,
        st.just(msgid) if msgid else ids,
    )
    return ok | failed


def typing_requests(conversation_id: str | None = None, sender_id: str | None = None) -> st.SearchStrategy[Body]:
    """Bodies of ``POST /{scope_id}/typing``."""
    return _object(
        conversation_id=st.just(conversation_id) if conversation_id else ids,
        sender=st.fixed_dictionaries({"id": st.just(sender_id) if sender_id else ids}),
        duration_ms=_optional(st.integers(min_value=0, max_value=60_000)),
    )


def react_requests(conversation_id: str | None = None, msgid: str | None = None, user_id: str | None = None) -> st.SearchStrategy[Body]:
    """Bodies of ``POST /{scope_id}/react``: react with an emoji, or unreact."""
    base = {
        "conversation_id": st.just(conversation_id) if conversation_id else ids,
        "msgid": st.just(msgid) if msgid else ids,
        "user": st.fixed_dictionaries({"id": st.just(user_id) if user_id else ids}),
    }
    return _object(**base, type=st.just("react"), emoji=emoji) | _object(**base, type=st.just("unreact"))


# -- webhooks amojo sends ---------------------------------------------------------------------


def _conversation(write_first: bool) -> st.SearchStrategy[Body]:
    if write_first:
        return st.fixed_dictionaries({"id": uuids})
    return st.fixed_dictionaries({"id": uuids, "client_id": ids})


def _hook_content() -> st.SearchStrategy[Body]:
    def content(kind: str) -> st.SearchStrategy[Body]:
        media = kind != "text"
        fields: dict[str, st.SearchStrategy[Any]] = {
            "id": uuids,
            "type": st.just(kind),
            "text": texts if kind == "text" else (texts | st.just("")),
            "tag": st.just(""),
            "media": urls if media else st.just(""),
            "thumbnail": urls if kind in ("picture", "video") else st.just(""),
            "file_name": st.builds(lambda s: f"{s}.jpg", ids) if media else st.just(""),
            "file_size": st.integers(0, 10**7) if media else st.just(0),
        }
        if kind == "text":
            buttons = st.lists(
                st.lists(_object(text=names, url=_optional(urls, null=False)), min_size=1, max_size=3), min_size=1, max_size=3
            )
            fields["markup"] = _optional(st.fixed_dictionaries({"mode": st.just("inline"), "buttons": buttons}), null=True)
        return _object(**fields)

    return st.sampled_from(HOOK_MESSAGE_TYPES).flatmap(content)


def webhook_v2_messages(*, account_id: str | None = None, write_first: bool | None = None) -> st.SearchStrategy[Body]:
    """Webhook v2.0 message bodies (a manager's reply; ``write_first=True``: a chat started from the CRM)."""

    def build(first: bool) -> st.SearchStrategy[Body]:
        receiver = _object(
            id=uuids,
            phone=phones.map(lambda p: "".join(c for c in p if c.isdigit())) | st.just(""),
            email=emails | st.just(""),
            client_id=st.just(_ABSENT) if first else ids,
        )
        inner = st.tuples(timestamps, st.integers(0, 999)).flatmap(
            lambda t: _object(
                receiver=receiver,
                sender=st.fixed_dictionaries({"id": uuids}),
                conversation=_conversation(first),
                source=_optional(st.fixed_dictionaries({"external_id": external_ids}), null=False),
                timestamp=st.just(t[0]),
                msec_timestamp=st.just(t[0] * 1000 + t[1]),
                message=_hook_content(),
            )
        )
        return _object(account_id=st.just(account_id) if account_id else uuids, time=timestamps, message=inner)

    return (st.just(write_first) if write_first is not None else st.booleans()).flatmap(build)


def webhook_v1_messages() -> st.SearchStrategy[Body]:
    """Deprecated v1 message hook bodies (flat; integration ids only)."""
    return st.sampled_from(["text", "file", "video", "picture"]).flatmap(
        lambda kind: _object(
            receiver=ids,
            conversation_id=ids,
            type=st.just(kind),
            text=texts if kind == "text" else st.just(""),
            media=st.just("") if kind == "text" else urls,
            thumbnail=st.just(""),
            file_name=st.just("") if kind == "text" else st.builds(lambda s: f"{s}.pdf", ids),
            file_size=st.just(0) if kind == "text" else st.integers(0, 10**7),
            msec_timestamp=timestamps.map(lambda t: t * 1000),
        )
    )


def webhook_v2_typing(*, account_id: str | None = None) -> st.SearchStrategy[Body]:
    """Typing hook bodies (``expired_at`` = start + 5 s)."""
    return timestamps.flatmap(
        lambda now: _object(
            account_id=st.just(account_id) if account_id else uuids,
            time=st.just(now),
            action=st.fixed_dictionaries(
                {
                    "typing": _object(
                        user=st.fixed_dictionaries({"id": uuids}),
                        conversation=st.booleans().flatmap(_conversation),
                        expired_at=st.just(now + 5),
                    )
                }
            ),
        )
    )


def webhook_v2_reactions(*, account_id: str | None = None) -> st.SearchStrategy[Body]:
    """Reaction hook bodies, react (with emoji) or unreact (without)."""

    def reaction(kind: str) -> st.SearchStrategy[Body]:
        return _object(
            msgid=uuids,
            user=st.fixed_dictionaries({"id": uuids}),
            conversation=st.booleans().flatmap(_conversation),
            type=st.just(kind),
            emoji=emoji if kind == "react" else st.just(_ABSENT),
        )

    return _object(
        account_id=st.just(account_id) if account_id else uuids,
        time=timestamps,
        action=st.fixed_dictionaries({"reaction": st.sampled_from(["react", "unreact"]).flatmap(reaction)}),
    )
