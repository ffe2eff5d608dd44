"""What the journal keeps of an amojo request, and keeping a channel's secret out of it.

:class:`ApiEntry` holds a request and its answer compactly and builds the journal's dict only
when someone reads it. A client that sent the secret itself (as X-Signature, in the URL, in the
body) gets it redacted from its answer and from the journal: :func:`mentions_secret`, :func:`scrubbed`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import orjson
from starlette.types import Scope as ASGIScope

from ..domain._journal import JournalEntry
from ..errors import AmojoError, SignatureRejected
from ..wire._signing import Verdict, redact_secrets
from ..wire._stances import StanceWarning
from ._exchange import SIGNED_HEADERS, Call, Reply

__all__ = ["MAX_JOURNAL_BODY", "ApiEntry", "mentions_secret", "scrubbed"]

#: The most of a request body, and of an answer, a journal entry shows (and keeps).
MAX_JOURNAL_BODY = 16 * 1024
#: What an entry's own fields (path, headers, verdict…) keep alive besides the bodies, about.
_ENTRY_OVERHEAD = 1024


def mentions_secret(secret: str, call: Call, body: bytes) -> bool:
    """Did the client send the secret itself (a classic mistake: the key as X-Signature, or in the URL)?"""
    needle = secret.lower()
    # Header values joined by a byte no header value holds: a match cannot span two of them.
    if needle.encode() in body.lower() or needle in "\n".join(call.headers.values()).lower() or needle in call.path.lower():
        return True
    # The path is %-decoded already (ASGI); the query is not.
    return bool(call.query) and needle in unquote(call.query.decode("latin-1")).lower()


def scrubbed(data: Any, secrets: tuple[str, ...]) -> Any:
    """``data`` with every spelling of each secret replaced: answers and the journal echo what was sent, never the key."""
    return orjson.loads(redact_secrets(orjson.dumps(data).decode(), secrets))


class ApiEntry:
    """One API request as the journal keeps it: what was received and answered, built into a dict when read."""

    __slots__ = (
        "at",
        "body",
        "body_size",
        "duration",
        "endpoint",
        "error_code",
        "error_description",
        "error_detail",
        "error_hint",
        "method",
        "path",
        "path_params",
        "query",
        "refusal_detail",
        "reply_body",
        "reply_is_json",
        "reply_size",
        "seq",
        "signed_headers",
        "size",
        "status",
        "verdict",
        "warnings",
    )

    def __init__(
        self,
        at: float,
        endpoint: str,
        scope: ASGIScope,
        headers: dict[str, str],
        body: bytes,
        reply: Reply,
        verdict: Verdict | None,
        duration: float,
        error: AmojoError | None,
        warnings: list[StanceWarning] | None = None,
    ) -> None:
        self.seq = 0
        self.at = at
        self.endpoint = endpoint
        self.method: str = scope.get("method", "")
        self.path: str = scope.get("path", "")
        self.query: bytes = scope.get("query_string", b"")
        self.path_params: dict[str, str] = scope.get("path_params", {})
        # Only the signed headers' values: they are all the entry shows, and the rest need not stay alive.
        self.signed_headers = tuple(headers.get(name) for name in SIGNED_HEADERS)
        # What the entry shows of the body, as its own exact-size bytes: the caller's object may be a
        # bigger buffer (orjson's output, in process: 4 KiB for a 400-byte body) or a 1 MiB body.
        self.body = bytes(memoryview(body)[:MAX_JOURNAL_BODY])
        self.body_size = len(body)
        # Only what the answer was, not the objects that made it: the bytes re-parse to the same JSON.
        # A big answer (a history page) is kept as the part the entry shows: slicing bytes copies only then.
        self.status = reply.status
        self.reply_body = reply.body[:MAX_JOURNAL_BODY]
        self.reply_size = len(reply.body)
        self.size = len(self.body) + len(self.reply_body) + _ENTRY_OVERHEAD
        self.reply_is_json = reply.data is not None
        self.verdict = verdict
        self.duration = duration
        # The error's words, not the exception (whose traceback would keep every frame alive).
        self.error_code = error.code if error is not None else None
        self.error_description = error.description if error is not None else None
        self.error_hint = error.hint if error is not None else None
        self.error_detail = error.detail if error is not None else None
        self.refusal_detail = error.detail if isinstance(error, SignatureRejected) else None
        self.warnings = warnings

    def build(self) -> JournalEntry:
        body = self.body
        entry: JournalEntry = {
            "at": self.at,
            "endpoint": self.endpoint,
            "method": self.method,
            "path": self.path,
            "query": self.query.decode("latin-1"),
            "path_params": dict(self.path_params),
            "status": self.status,
            "duration_ms": round(self.duration * 1000, 3),
            "request": {
                "headers": {name: value for name, value in zip(SIGNED_HEADERS, self.signed_headers, strict=True) if value is not None},
                "body": body.decode("utf-8", "replace"),
                "body_truncated": self.body_size > MAX_JOURNAL_BODY,
                "body_size": self.body_size,
            },
            "verdict": self.verdict.as_dict() if self.verdict is not None else self.refusal_detail,
            "response": self._response(),
            "warnings": [w.as_dict() for w in self.warnings] if self.warnings else [],
        }
        if self.error_code is not None:
            entry["error_type"] = self.error_code
            entry["error_description"] = self.error_description
            entry["hint"] = self.error_hint
            if self.error_detail and self.reply_body in (b"", b"{}"):
                # A bare answer (--error-bodies bare) says nothing: the journal keeps what it would have said.
                entry["detail"] = self.error_detail
        return entry

    def _response(self) -> Any:
        """The answer's JSON, or a truncated text for big ones (history pages)."""
        if not self.reply_is_json:
            return None
        if self.reply_size <= MAX_JOURNAL_BODY:
            return orjson.loads(self.reply_body)
        return {"truncated": True, "size": self.reply_size, "text": self.reply_body.decode("utf-8", "replace")}
