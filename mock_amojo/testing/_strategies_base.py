"""Building blocks of the hypothesis strategies (:mod:`mock_amojo.testing.strategies`): ids, names, texts,
users, and ``payload.message`` contents of every type.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

#: Message types an integration may send (amojo-api.md §3.4).
MESSAGE_TYPES = ("text", "contact", "file", "video", "picture", "voice", "audio", "sticker", "location")
#: Message types a manager's reply hook carries (amojo-api.md §4.1).
HOOK_MESSAGE_TYPES = ("text", "file", "video", "picture", "voice", "audio", "sticker")
_MEDIA_TYPES = ("file", "video", "picture", "voice", "audio", "sticker")
_SIZED_TYPES = ("file", "video", "picture")
_TIMED_TYPES = ("video", "audio", "voice")

Body = dict[str, Any]

# -- building blocks ----------------------------------------------------------------------

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-"
ids = st.text(_ID_ALPHABET, min_size=1, max_size=24)
uuids = st.uuids().map(str)
# Names and text as people write them: Cyrillic, emoji, quotes and slashes (which PHP escapes).
_human_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from('Привет 👍😍 "/\\ ё'),
    min_size=1,
    max_size=60,
)
names = _human_text.filter(str.strip)
texts = _human_text
timestamps = st.integers(min_value=1_500_000_000, max_value=2_000_000_000)
phones = st.from_regex(r"\+?7 ?\(?9\d{2}\)? ?\d{3}-?\d{2}-?\d{2}", fullmatch=True)
emails = st.from_regex(r"[a-z]{1,10}@[a-z]{1,10}\.(ru|com)", fullmatch=True)
urls = st.builds(lambda host, path: f"https://{host}.example/{path}", st.from_regex(r"[a-z]{3,10}", fullmatch=True), ids)
external_ids = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40)
emoji = st.sampled_from(["👍", "😍", "❤️", "😂", "🔥", "🙏"])


def _optional(strategy: st.SearchStrategy[Any], *, null: bool = True) -> st.SearchStrategy[Any]:
    """Absent, explicit null (as PHP/JS clients send) or a value — absent is a missing key."""
    choices = [st.just(_ABSENT), strategy]
    if null:
        choices.append(st.none())
    return st.one_of(*choices)


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT = _Absent()


def _object(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Body]:
    """A dict whose fields drawing ``_ABSENT`` are left out."""
    return st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not _ABSENT})


def profiles() -> st.SearchStrategy[Body]:
    return _object(phone=_optional(phones), email=_optional(emails))


def users(*, with_ref_id: bool = False) -> st.SearchStrategy[Body]:
    """A client as create-chat and incoming messages carry it (``id`` + ``name``, profile optional)."""
    return _object(
        id=ids,
        name=names,
        ref_id=_optional(uuids) if with_ref_id else st.just(_ABSENT),
        avatar=_optional(urls),
        profile=_optional(profiles()),
        profile_link=_optional(urls),
    )


# -- message content ----------------------------------------------------------------------


def message_contents(types: tuple[str, ...] = MESSAGE_TYPES) -> st.SearchStrategy[Body]:
    """``payload.message`` of a new message, one of ``types``, with exactly the fields each type needs."""
    return st.sampled_from(types).flatmap(_content_of)


def _content_of(kind: str) -> st.SearchStrategy[Body]:
    fields: dict[str, st.SearchStrategy[Any]] = {"type": st.just(kind)}
    if kind == "text":
        fields["text"] = texts
        fields["callback_data"] = _optional(ids)
    else:
        fields["text"] = _optional(texts | st.just(""))
    if kind in _MEDIA_TYPES:
        fields["media"] = urls
    if kind in _SIZED_TYPES:
        fields["file_name"] = st.builds(lambda stem, ext: f"{stem}.{ext}", ids, st.sampled_from(["jpg", "pdf", "mp4", "png"]))
        fields["file_size"] = st.integers(min_value=0, max_value=50 * 1024 * 1024)
    if kind in _TIMED_TYPES:
        fields["media_duration"] = _optional(st.integers(min_value=0, max_value=3600))
    if kind == "sticker":
        fields["sticker_id"] = _optional(ids)
    if kind == "location":
        fields["location"] = st.fixed_dictionaries(
            {"lon": st.floats(min_value=-180, max_value=180), "lat": st.floats(min_value=-90, max_value=90)}
        )
    if kind == "contact":
        fields["contact"] = st.fixed_dictionaries({"name": names, "phone": phones})
    return _object(**fields)
