"""Talks (беседы): one conversation with a client about a lead, open until a manager or the API closes it.

A chat's first client message opens a talk together with the incoming lead; a client message in a
chat whose talk was closed opens a new one (amoCRM's talks reference, ``/api/v4/talks/{id}``).
"""

from __future__ import annotations

import msgspec

__all__ = ["Talk", "Talks"]


class Talk(msgspec.Struct):
    """A talk about ``lead_id`` in the amojo chat ``chat_id`` with contact ``contact_id``."""

    id: int
    account_id: str
    chat_id: str
    contact_id: int
    lead_id: int | None
    origin: str
    created_at: float
    updated_at: float
    is_in_work: bool = True
    is_read: bool = False
    rate: int = 0


class Talks:
    """Every talk, and each chat's open one (found in O(1) per client message)."""

    def __init__(self) -> None:
        self.by_id: dict[int, Talk] = {}
        self.open: dict[str, Talk] = {}

    def clear(self) -> None:
        self.by_id.clear()
        self.open.clear()

    def start(self, talk: Talk) -> Talk:
        self.by_id[talk.id] = talk
        self.open[talk.chat_id] = talk
        return talk

    def touch(self, chat_id: str, now: float) -> Talk | None:
        """A client wrote again: the open talk is unread and updated; None when the chat has none open."""
        talk = self.open.get(chat_id)
        if talk is not None:
            talk.updated_at = now
            talk.is_read = False
        return talk

    def close(self, talk: Talk, now: float) -> Talk:
        talk.is_in_work = False
        talk.updated_at = now
        if self.open.get(talk.chat_id) is talk:
            del self.open[talk.chat_id]
        return talk
