"""Keeping channel secrets out of everything the fake echoes: answers, the journal, the console.

A secret is found in any letter case and with any of its characters %-escaped.
"""

from __future__ import annotations

import functools
import re

__all__ = ["REDACTED", "redact_secrets", "repr_without_secrets", "secret_hint"]


#: What every echo of a request (answers, the journal, the console) shows in place of a channel secret.
REDACTED = "<redacted: the channel secret; never send it, sign with it>"


def redact_secrets(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every spelling of each secret replaced by :data:`REDACTED`: any letter case, any character %-escaped.

    >>> redact_secrets("GET /x/AB%431?k=ab%63%31", ("abc1",)).count("<redacted")
    2
    """
    for secret in secrets:
        if secret:
            text = _spellings(secret).sub(REDACTED, text)
    return text


def secret_hint(secret: str) -> str:
    """Enough of ``secret`` to tell secrets apart in a listing, never enough to sign.

    >>> secret_hint("f2d7f8704eff95087ed45b23ba99c0b5aac8278e"), secret_hint("short")
    ('f2d7…278e', '…')
    """
    return f"{secret[:4]}…{secret[-4:]}" if len(secret) > 12 else "…"


def repr_without_secrets(value: object, fields: tuple[str, ...], secrets: frozenset[str]) -> str:
    """``value``'s repr as a Struct gives it (its ``fields`` in order), each field named in ``secrets`` as its hint.

    A failing test prints the objects it compared: it shows which secret, never the secret.
    """
    shown = (f"{name}={secret_hint(getattr(value, name)) if name in secrets else repr(getattr(value, name))}" for name in fields)
    return f"{type(value).__name__}({', '.join(shown)})"


@functools.lru_cache(maxsize=16)
def _spellings(secret: str) -> re.Pattern[str]:
    # A path or query may carry any character of the secret %-escaped (a raw path, the canonical string),
    # in either letter case: "C" is %43 where "c" is %63.
    def spelled(char: str) -> str:
        escapes = {"".join(f"%{byte:02x}" for byte in form.encode()) for form in (char.lower(), char.upper())}
        return "(?:" + "|".join([re.escape(char), *sorted(escapes)]) + ")"

    return re.compile("".join(spelled(char) for char in secret), re.IGNORECASE)
