"""JSON bytes the fake keeps: compact UTF-8, trimmed to their length.

``orjson.dumps`` hands back its write buffer, which only grows; the journal and the delivery
log keep thousands of answers, so they keep copies of the exact length
(``docs/design/performance.md``).

>>> from mock_amojo.wire._jsonbytes import dumps
>>> dumps({"ok": True, "name": "Анна"})
b'{"ok":true,"name":"\xd0\x90\xd0\xbd\xd0\xbd\xd0\xb0"}'
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["dumps"]


def dumps(data: Any) -> bytes:
    """Compact UTF-8 JSON (non-ASCII unescaped, no trailing newline), occupying no more memory than its length."""
    return bytes(memoryview(orjson.dumps(data)))
