"""Keeping channel secrets out of everything the fake echoes: answers, the journal, the console.

A secret is found in any letter case and with any of its characters %-escaped.
"""

from __future__ import annotations

import functools
import re

__all__ = ["REDACTED", "redact_secrets"]


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


@functools.lru_cache(maxsize=16)
def _spellings(secret: str) -> re.Pattern[str]:
    # A path or query may carry any character of the secret %-escaped (a raw path, the canonical string),
    # in either letter case: "C" is %43 where "c" is %63.
    def spelled(char: str) -> str:
        escapes = {"".join(f"%{byte:02x}" for byte in form.encode()) for form in (char.lower(), char.upper())}
        return "(?:" + "|".join([re.escape(char), *sorted(escapes)]) + ")"

    return re.compile("".join(spelled(char) for char in secret), re.IGNORECASE)
