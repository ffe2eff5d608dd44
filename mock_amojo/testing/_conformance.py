"""Receiver conformance: fire amojo's webhooks — genuine and forged — at an integration's endpoint.

A receiver conforms when it accepts (HTTP 200, within amojo's 5 s) every genuine Webhook
v2.0 call — replies of every message type, a CRM-initiated chat without ``client_id``,
typing, reactions, unknown extra fields, a duplicate delivery — and refuses (anything but
200) every call whose ``X-Signature`` does not prove it came from amojo: forged, missing,
or over a body altered after signing. Bodies come from the fake's own builders
(:mod:`mock_amojo.webhooks`), so they are exactly what ``mock-amojo serve`` sends.

``mock-amojo check-receiver URL --secret S`` prints the table; in tests use
:func:`check_receiver` or :func:`assert_receiver_conforms`.

>>> probes = battery("f2d7f8704eff95087ed45b23ba99c0b5aac8278e", now=1639572261)
>>> [p.check.name for p in probes if p.check.forged]
['forged signature', 'missing signature', 'body altered after signing', 'signature of another body']
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import orjson

from ..config import MAX_TIMEOUT, ConfigError, check_number
from ..domain import Backend, Chat, Message, Scope
from ..domain._clock import ManualClock
from ..webhooks import encode_body, message_hook_v2, reaction_hook, typing_hook, webhook_url
from ..wire._requests import Connect, parse_new_message
from ..wire._signing import sign_webhook
from ..wire._values import Text, parse_content
from ._client import connection_problem

__all__ = [
    "AMOJO_TIMEOUT",
    "Check",
    "Outcome",
    "Probe",
    "Report",
    "assert_receiver_conforms",
    "battery",
    "check_receiver",
    "report_json",
]

#: amojo waits at most 5 s for a receiver (amojo-api.md §4).
AMOJO_TIMEOUT = 5.0
Expectation = Literal["accept", "refuse", "no-error"]
_EXPECTED_TEXT = {"accept": "200", "refuse": "not 200", "no-error": "no 5xx"}
_MEDIA: dict[str, dict[str, Any]] = {
    "picture": {
        "type": "picture",
        "text": "",
        "media": "https://example.com/p.jpg",
        "thumbnail": "https://example.com/p_320.jpg",
        "file_name": "p.jpg",
        "file_size": 48213,
    },
    "file": {"type": "file", "media": "https://example.com/offer.pdf", "file_name": "offer.pdf", "file_size": 120334},
    "video": {"type": "video", "media": "https://example.com/v.mp4", "file_name": "v.mp4", "file_size": 2_000_000},
    "voice": {"type": "voice", "media": "https://example.com/v.ogg"},
    "audio": {"type": "audio", "media": "https://example.com/a.mp3"},
    "sticker": {"type": "sticker", "media": "https://example.com/s.webp"},
}


@dataclass(frozen=True, slots=True)
class Check:
    """One thing a receiver must get right; ``forged`` marks the calls that did not come from amojo."""

    name: str
    expect: Expectation
    why: str
    forged: bool = False


@dataclass(frozen=True, slots=True)
class Probe:
    """A check and the exact request that tests it."""

    check: Check
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Outcome:
    check: Check
    status: int | None
    latency_ms: float
    passed: bool
    detail: str = ""


@dataclass
class Report:
    """What the receiver did with each probe."""

    url: str
    outcomes: list[Outcome] = field(default_factory=list)
    #: Why no connection to the receiver could be made (the battery then stops at its first call), or None.
    unreachable: str | None = None

    @property
    def passed(self) -> bool:
        return self.unreachable is None and all(o.passed for o in self.outcomes)

    @property
    def forged_accepted(self) -> list[Outcome]:
        """Security failures: calls amojo never sent that the receiver answered with 200."""
        return [o for o in self.outcomes if o.check.forged and o.status == 200]

    @property
    def exit_code(self) -> int:
        """0 conforming; 1 something forged was accepted; 3 only genuine calls mishandled."""
        if self.forged_accepted:
            return 1
        return 0 if self.passed and self.unreachable is None else 3

    def table(self) -> str:
        """A readable table, one line per check, and a verdict."""
        if self.unreachable is not None:
            return f"cannot reach the receiver at {self.url}: {self.unreachable}; is it running and listening there?"
        rows = [("#", "check", "expected", "got", "ms", "result", "")]
        for n, o in enumerate(self.outcomes, 1):
            got = str(o.status) if o.status is not None else "—"
            result = "PASS" if o.passed else ("FORGED ACCEPTED" if o in self.forged_accepted else "FAIL")
            rows.append((str(n), o.check.name, _EXPECTED_TEXT[o.check.expect], got, f"{o.latency_ms:.0f}", result, o.detail or o.check.why))
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:6])) + "  " + r[6] for r in rows]
        good = sum(o.passed for o in self.outcomes)
        verdict = f"{good}/{len(self.outcomes)} checks passed at {self.url}"
        if self.forged_accepted:
            verdict += f" — INSECURE: accepted {len(self.forged_accepted)} forged call(s): " + ", ".join(
                o.check.name for o in self.forged_accepted
            )
        elif self.passed:
            verdict += " — the receiver conforms"
        return "\n".join([*lines, "", verdict])


class _Scene:
    """A throwaway amoCRM account holding the chats and messages the hooks describe."""

    def __init__(self, secret: str, scope_id: str | None, now: float) -> None:
        channel_id, _, account_id = (scope_id or f"{uuid.uuid4()}_{uuid.uuid4()}").partition("_")
        self.backend = Backend(clock=ManualClock(now))
        channel = self.backend.register_channel(id=channel_id, secret=secret, name="conformance")
        self.scope: Scope = self.backend.connect(channel.id, Connect(account_id or str(uuid.uuid4()), hook_api_version="v2"))
        self.now = int(now)
        payload = {
            "timestamp": self.now - 60,
            "msgid": "conformance-client-1",
            "conversation_id": "conformance-conversation-1",
            "sender": {"id": "conformance-client", "name": "Conformance Client", "profile": {"phone": "+7 916 123-45-67"}},
            "message": {"type": "text", "text": "Hello, I have a question"},
        }
        self.client_message: Message = self.backend.send_message(self.scope.id, parse_new_message(payload))
        self.chat: Chat = self.backend.chat_of(self.client_message)

    def reply(self, message: dict[str, Any]) -> dict[str, Any]:
        sent = self.backend.operator_reply(self.scope.id, chat_id=self.chat.id, message=parse_content(message))
        return message_hook_v2(self.scope, self.chat, sent, time=self.now)

    def initiate(self) -> dict[str, Any]:
        sent = self.backend.operator_initiate(self.scope.id, phone="+7 999 000-11-22", name="New client", message=Text("We write first"))
        return message_hook_v2(self.scope, self.backend.chat_of(sent), sent, time=self.now)

    def typing(self) -> dict[str, Any]:
        manager = self.backend.manager(self.scope)
        return typing_hook(self.scope, self.chat, manager.id, expired_at=self.now + 5, time=self.now)

    def reaction(self, kind: str) -> dict[str, Any]:
        manager = self.backend.manager(self.scope)
        emoji = "😍" if kind == "react" else None
        return reaction_hook(self.scope, self.chat, self.client_message, manager.id, type=kind, emoji=emoji, time=self.now)


def _headers(secret: str, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Signature": sign_webhook(secret, body)}


def battery(secret: str, *, scope_id: str | None = None, now: float | None = None) -> list[Probe]:
    """Every probe, in the order they are sent (genuine first, then forged, then the duplicate)."""
    scene = _Scene(secret, scope_id, time.time() if now is None else now)
    probes: list[Probe] = []

    def genuine(name: str, why: str, body: dict[str, Any]) -> bytes:
        raw = encode_body(body)
        probes.append(Probe(Check(name, "accept", why), raw, _headers(secret, raw)))
        return raw

    reply = genuine(
        "valid v2 reply",
        "a manager's text reply, signed as amojo signs: must be 200 within 5 s",
        scene.reply({"type": "text", "text": "Hello! How can I help?"}),
    )
    for kind, message in _MEDIA.items():
        genuine(f"{kind} reply", f"message.message.type {kind} with media (§4.1)", scene.reply(message))
    genuine(
        "rich reply (markup, template)",
        "inline buttons and a template are optional fields a receiver must tolerate",
        scene.reply(
            {
                "type": "text",
                "text": "Choose",
                "markup": {"mode": "inline", "buttons": [[{"text": "A"}, {"text": "Site", "url": "https://example.com"}]]},
                "template": {"id": 7103, "content": "Choose", "params": [{"key": "{{lead.id}}", "value": "1"}]},
            }
        ),
    )
    genuine(
        "write first (no client_id)", "a chat started in the CRM: no conversation.client_id, no receiver.client_id (§4.2)", scene.initiate()
    )
    genuine("typing hook", "action.typing (§4.3)", scene.typing())
    genuine("reaction hook", "action.reaction react with emoji (§4.4)", scene.reaction("react"))
    genuine("unreact hook", "action.reaction unreact, no emoji (§4.4)", scene.reaction("unreact"))
    extended = scene.reply({"type": "text", "text": "From the future"})
    extended["new_top_level_field"] = {"added": "later"}
    extended["message"]["message"]["new_message_field"] = [1, 2, 3]
    genuine("unknown extra fields", "forward compatibility: fields amojo may add must not break the receiver", extended)

    forged_body = encode_body(scene.reply({"type": "text", "text": "Please pay to account 4242"}))
    probes.append(
        Probe(
            Check("forged signature", "refuse", "X-Signature made with another secret", forged=True),
            forged_body,
            _headers(_other_secret(secret), forged_body),
        )
    )
    probes.append(
        Probe(
            Check("missing signature", "refuse", "no X-Signature header at all", forged=True),
            forged_body,
            {"Content-Type": "application/json"},
        )
    )
    altered = forged_body.replace(b"Please pay to account 4242", b"Please pay to account 6666")
    probes.append(
        Probe(
            Check("body altered after signing", "refuse", "valid signature of the original bytes, body changed in transit", forged=True),
            altered,
            _headers(secret, forged_body),
        )
    )
    probes.append(
        Probe(
            Check("signature of another body", "refuse", "a genuine signature replayed onto a different hook", forged=True),
            forged_body,
            _headers(secret, reply),
        )
    )
    probes.append(
        Probe(
            Check(
                "duplicate delivery",
                "no-error",
                "the first hook again, byte for byte: answer without error, process once (dedupe on message.message.id)",
            ),
            reply,
            _headers(secret, reply),
        )
    )
    return probes


def _other_secret(secret: str) -> str:
    flipped = "0" if secret[:1] != "0" else "1"
    return flipped + secret[1:]


def _judge(check: Check, status: int | None, latency: float, timeout: float) -> tuple[bool, str]:
    if status is None:
        return check.expect == "refuse", "no answer (timeout or connection error)"
    if check.expect == "accept":
        if status != 200:
            return False, f"answered {status}; amojo counts only 200 and never retries"
        if latency > timeout:
            return False, f"took {latency:.1f} s; amojo gives up after {timeout:.0f} s"
        return True, ""
    if check.expect == "refuse":
        return (status != 200), ("accepted a call amojo never made" if status == 200 else "")
    return status < 500, "" if status < 500 else f"answered {status} to a duplicate; dedupe instead of failing"


def check_receiver(
    url: str,
    secret: str,
    *,
    scope_id: str | None = None,
    timeout: float = AMOJO_TIMEOUT,
    client: httpx.Client | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> Report:
    """Send the battery to ``url`` (``:scope_id`` in it is replaced, as amojo does) and judge each answer.

    A ``url`` that is not http(s) or a ``timeout`` outside 0..3600 s is a :class:`~mock_amojo.errors.ConfigError`.
    """
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"url: must start with http:// or https://, got {url!r}")
    check_number("timeout", timeout, minimum=0, maximum=MAX_TIMEOUT)
    probes = battery(secret, scope_id=scope_id)
    target = webhook_url(url, scope_id) if scope_id else url
    own = client is None
    http = client or httpx.Client(timeout=timeout)
    report = Report(target)
    try:
        for probe in probes:
            started = time.perf_counter()
            try:
                response = http.post(target, content=probe.body, headers=probe.headers, timeout=timeout)
                status: int | None = response.status_code
            except httpx.ConnectError as error:
                if not report.outcomes:
                    # Nothing listens there: one reason, not the same failure for every check.
                    report.unreachable = connection_problem(error)
                    break
                status = None
            except httpx.HTTPError:
                status = None
            latency = time.perf_counter() - started
            passed, detail = _judge(probe.check, status, latency, timeout)
            outcome = Outcome(probe.check, status, latency * 1000, passed, detail)
            report.outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
    finally:
        if own:
            http.close()
    return report


def assert_receiver_conforms(url: str, secret: str, *, scope_id: str | None = None, timeout: float = AMOJO_TIMEOUT) -> Report:
    """For an integration's own tests: raise AssertionError with the table unless every check passes."""
    report = check_receiver(url, secret, scope_id=scope_id, timeout=timeout)
    if not report.passed:
        raise AssertionError("webhook receiver does not conform:\n" + report.table())
    return report


def report_json(outcomes: Sequence[Outcome]) -> bytes:
    """Machine-readable form of a report (``--json``)."""
    return orjson.dumps(
        [
            {
                "check": o.check.name,
                "expect": o.check.expect,
                "forged": o.check.forged,
                "status": o.status,
                "latency_ms": round(o.latency_ms, 1),
                "passed": o.passed,
                "detail": o.detail,
            }
            for o in outcomes
        ],
        option=orjson.OPT_INDENT_2,
    )
