"""What the fake refuses up front because it could not store, answer or show it: one table.

A request the fake accepts must never break a later read (``/__mock__/state``, history, the
console, the journal, a restart on the ``--db`` file). Two things can: an integer no JSON
encoder writes (orjson stops at 64 bits) and nesting deeper than an encoder recurses (orjson
stops at 254 levels). So every integer a body carries into the state has a range, and every
body has a depth. The integer ranges live in ``schemas/`` (``minimum``/``maximum``, so the
OpenAPI document tells clients too); this module holds the same numbers for code and docs
(a test keeps the two equal) and the depth check, which JSON Schema cannot express.

A string holding a lone surrogate cannot be written either (UTF-8 has no encoding for one): the
wire cannot carry one, and a value from Python that holds one is refused (``lone_surrogate``).

Sizes need no limit of their own: every string, array and object comes from one request body,
and the body limit (``Config.body_limit``, 1 MiB by default; 413 above it) bounds them all.

>>> LIMITS["MAX_DEPTH"], LIMITS["MAX_TIMESTAMP"]
(32, 253402300799)
>>> too_deep({"payload": {"message": {"type": "text"}}}) is None
True
>>> too_deep({"a": [[[[1]]]]}, max_depth=3)
['a', 0, 0]
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = [
    "LIMITS",
    "LONE_SURROGATE",
    "MAX_DEPTH",
    "MAX_INTEGER",
    "MAX_MSEC_TIMESTAMP",
    "MAX_TIMESTAMP",
    "MAX_TYPING_MS",
    "advice",
    "lone_surrogate",
    "printable",
    "too_deep",
]

#: Unix seconds at 9999-12-31T23:59:59Z: the last instant a 4-digit year (ISO 8601, Python's
#: ``datetime``, the console's dates) can show. Any millisecond value after 1978-01-11 is above
#: it, so a client sending milliseconds as ``timestamp`` is told so.
MAX_TIMESTAMP = 253_402_300_799
#: The same instant in milliseconds (its last millisecond); below 2**53, so exact in a float.
MAX_MSEC_TIMESTAMP = MAX_TIMESTAMP * 1000 + 999
#: Any other integer (file_size, media_duration, template ids, query offsets): 2**53 - 1, the
#: largest every JSON reader holds exactly (RFC 7493 §2.2; JavaScript's Number.MAX_SAFE_INTEGER).
MAX_INTEGER = 2**53 - 1
#: typing ``duration_ms``: 2**31 - 1, the longest delay a browser timer honours (the HTML
#: standard clamps longer ones to zero), which is what the console's typing indicator uses.
MAX_TYPING_MS = 2**31 - 1
#: Containers nested in a body (the body itself is level 1). amojo's deepest body needs 7; 32
#: (DynamoDB's limit for nested attributes) leaves room for any free-form field, and what the
#: fake wraps around a stored value (state, edits, the change log) stays far below orjson's 254.
MAX_DEPTH = 32

#: The table docs/limits-and-redaction.md quotes: every limit by name.
LIMITS: dict[str, int] = {
    "MAX_TIMESTAMP": MAX_TIMESTAMP,
    "MAX_MSEC_TIMESTAMP": MAX_MSEC_TIMESTAMP,
    "MAX_INTEGER": MAX_INTEGER,
    "MAX_TYPING_MS": MAX_TYPING_MS,
    "MAX_DEPTH": MAX_DEPTH,
}


def too_deep(body: Any, raw: bytes | None = None, *, max_depth: int = MAX_DEPTH) -> list[str | int] | None:
    """The path to the first container nested deeper than ``max_depth``, or None.

    ``raw``, the bytes ``body`` was parsed from, makes the usual answer cheap: a body with no more
    than ``max_depth`` brackets in it cannot nest deeper (two C-speed counts, no walk).
    """
    if raw is not None and raw.count(b"{") + raw.count(b"[") <= max_depth:
        return None
    found = _deeper(body, 1, max_depth)
    if found is not None:
        found.reverse()
    return found


def _deeper(node: Any, depth: int, max_depth: int) -> list[str | int] | None:
    # Recursion stops at max_depth + 1 levels, whatever the input's depth.
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return None
    if depth > max_depth:
        return []
    for key, child in items:
        if isinstance(child, (dict, list)):
            found = _deeper(child, depth + 1, max_depth)
            if found is not None:
                found.append(key)
                return found
    return None


#: What is wrong with a value :func:`lone_surrogate` finds, and how to fix it (after the name of where it is).
LONE_SURROGATE = (
    "holds a lone surrogate (U+D800–U+DFFF): half of a UTF-16 pair, not a character, so UTF-8 and JSON "
    "cannot carry it and amojo never receives one; pass text as whole characters ('\\U0001f600', not '\\ud83d\\ude00')"
)


def lone_surrogate(value: Any) -> list[str | int] | None:
    """The path to the first string, a value or a key, holding a lone surrogate (U+D800–U+DFFF), or None.

    A surrogate is half of a UTF-16 pair, not a character: UTF-8 cannot encode one, so no JSON body
    on the wire carries one (the parser refuses a ``\\ud800`` escape without its pair) and nothing
    could store, answer or show it. Only a Python caller can hand one over.

    >>> lone_surrogate({"payload": {"message": {"type": "text", "text": "a\\ud800"}}})
    ['payload', 'message', 'text']
    >>> lone_surrogate({"users": [{"\\udfff": 1}]}), lone_surrogate({"text": "😀 👍"})
    (['users', 0, '\\udfff'], None)
    """
    try:
        orjson.dumps(value)
        return None  # the usual answer, at C speed: orjson refuses every surrogate
    except TypeError:
        pass  # a surrogate, or something else orjson cannot write (the schema check names that)
    stack: list[tuple[list[str | int], Any]] = [([], value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if not node.isascii() and any("\ud800" <= c <= "\udfff" for c in node):
                return path
        elif isinstance(node, dict):
            for key, child in reversed(node.items()):
                if isinstance(key, str) and not key.isascii() and any("\ud800" <= c <= "\udfff" for c in key):
                    return [*path, key]
                stack.append(([*path, key], child))
        elif isinstance(node, (list, tuple)):
            stack.extend(([*path, i], child) for i, child in reversed(list(enumerate(node))))
    return None


def printable(text: str) -> str:
    """``text`` with any lone surrogate written as its escape, so an error message can quote it.

    >>> printable("a\\ud800b")
    'a\\\\ud800b'
    """
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def advice(maximum: Any, value: Any) -> str:
    """What a value above ``maximum`` most likely is, when the limit is a timestamp's; else ``""``.

    >>> advice(MAX_TIMESTAMP, 1_764_000_000_000)
    'it looks like milliseconds: send seconds in timestamp and milliseconds in msec_timestamp'
    >>> advice(MAX_MSEC_TIMESTAMP, 1_764_000_000_000_000)
    'it looks like microseconds: msec_timestamp is in milliseconds'
    >>> advice(MAX_INTEGER, 2**60)
    ''
    """
    if not isinstance(value, (int, float)):
        return ""
    if maximum == MAX_TIMESTAMP and value / 1000 <= MAX_TIMESTAMP:
        return "it looks like milliseconds: send seconds in timestamp and milliseconds in msec_timestamp"
    if maximum == MAX_TIMESTAMP:
        return "timestamp is unix seconds (e.g. 1764000000), at most 9999-12-31T23:59:59Z"
    if maximum == MAX_MSEC_TIMESTAMP and value / 1000 <= MAX_MSEC_TIMESTAMP:
        return "it looks like microseconds: msec_timestamp is in milliseconds"
    if maximum == MAX_MSEC_TIMESTAMP:
        return "msec_timestamp is unix milliseconds (e.g. 1764000000000), at most 9999-12-31T23:59:59.999Z"
    return ""
